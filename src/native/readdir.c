/*
 * readdirNoatime(path): the names in a directory, read without touching its access time.
 * restic opens everything it reads with O_NOATIME; a backup that updates atimes changes the
 * very metadata it records, so the next run would store every directory anew. Falls back to a
 * plain open when O_NOATIME is refused (EPERM: not the owner and no CAP_FOWNER).
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

napi_value lifeboat_throw_errno(napi_env env, int err, const char *syscall, napi_value path); /* posix.c */

napi_value lifeboat_js_readdir_noatime(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1) {
    napi_throw_type_error(env, NULL, "readdirNoatime: expected a path");
    return NULL;
  }
  char *path = NULL;
  size_t len = 0;
  bool isbuf = false;
  napi_is_buffer(env, argv[0], &isbuf);
  if (isbuf) {
    void *data;
    if (napi_get_buffer_info(env, argv[0], &data, &len) != napi_ok) return NULL;
    if (memchr(data, 0, len) != NULL) {
      napi_throw_error(env, "ERR_INVALID_ARG_VALUE", "readdirNoatime: path contains a NUL byte");
      return NULL;
    }
    path = malloc(len + 1);
    if (!path) return NULL;
    memcpy(path, data, len);
    path[len] = 0;
  } else {
    if (napi_get_value_string_utf8(env, argv[0], NULL, 0, &len) != napi_ok) {
      napi_throw_type_error(env, NULL, "readdirNoatime: path must be a string or Buffer");
      return NULL;
    }
    path = malloc(len + 1);
    if (!path) return NULL;
    napi_get_value_string_utf8(env, argv[0], path, len + 1, &len);
  }
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  free(path);
  if (fd < 0) return lifeboat_throw_errno(env, errno, "opendir", argv[0]);
  DIR *d = fdopendir(fd);
  if (!d) {
    int e = errno;
    close(fd);
    return lifeboat_throw_errno(env, e, "fdopendir", argv[0]);
  }
  napi_value arr;
  if (napi_create_array(env, &arr) != napi_ok) {
    closedir(d);
    return NULL;
  }
  uint32_t i = 0;
  for (;;) {
    errno = 0;
    struct dirent *ent = readdir(d);
    if (!ent) {
      if (errno != 0) {
        int e = errno;
        closedir(d);
        return lifeboat_throw_errno(env, e, "readdir", argv[0]);
      }
      break;
    }
    const char *n = ent->d_name;
    if (n[0] == '.' && (n[1] == 0 || (n[1] == '.' && n[2] == 0))) continue;
    size_t nl = strlen(n);
    napi_value b;
    if (napi_create_buffer_copy(env, nl, n, NULL, &b) != napi_ok) {
      closedir(d);
      return NULL;
    }
    napi_set_element(env, arr, i++, b);
  }
  closedir(d);
  return arr;
}
