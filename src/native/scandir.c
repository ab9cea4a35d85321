/*
 * scanDir(path): one directory's entries for a backup walk in a single call: names sorted by
 * their bytes (restic's tree order), each entry's lstat fields, and the size of its xattr name
 * list. A backup with nothing new spends its time here; done from JavaScript it cost an lstat
 * (with a BigInt Stats object) and an llistxattr round trip per entry.
 *
 * The directory is opened with O_NOATIME, as restic opens everything it reads: a backup that
 * updated atimes would change the very metadata it records, and the next run would store every
 * directory anew. Without ownership or CAP_FOWNER (EPERM) the plain open is the fallback.
 * Per entry, 16 int64 values (SCAN_FIELDS):
 *   0 mode, 1 nlink, 2 uid, 3 gid, 4 rdev, 5 size, 6 ino, 7 dev,
 *   8 atime sec, 9 atime nsec, 10 mtime sec, 11 mtime nsec, 12 ctime sec, 13 ctime nsec,
 *   14 bytes of llistxattr's name list (0: none; -errno if it failed other than ENOTSUP),
 *   15 errno of lstat (0 when fields 0..14 are valid; the entry vanished or cannot be read).
 * Returns [names: Buffer (all names, one after another), ends: Uint32Array (where each name
 * ends in it), fields: BigInt64Array]. Throws (code = errno) if the directory
 * itself cannot be opened or read.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define SCAN_FIELDS 16

napi_value lifeboat_throw_errno(napi_env env, int err, const char *syscall, napi_value path); /* posix.c */

typedef struct {
  char *name;
  size_t len;
  int64_t f[SCAN_FIELDS];
} entry;

static int by_name(const void *a, const void *b) {
  const entry *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->name, y->name, n);
  if (c != 0) return c;
  return x->len < y->len ? -1 : x->len > y->len;
}

static void free_entries(entry *es, size_t n) {
  for (size_t i = 0; i < n; i++) free(es[i].name);
  free(es);
}

static void fill(entry *e, int dfd, const char *dir, size_t dlen) {
  struct stat st;
  memset(e->f, 0, sizeof e->f);
  if (fstatat(dfd, e->name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    e->f[15] = errno;
    return;
  }
  e->f[0] = st.st_mode;
  e->f[1] = (int64_t)st.st_nlink;
  e->f[2] = st.st_uid;
  e->f[3] = st.st_gid;
  e->f[4] = (int64_t)st.st_rdev;
  e->f[5] = st.st_size;
  e->f[6] = (int64_t)st.st_ino;
  e->f[7] = (int64_t)st.st_dev;
  e->f[8] = st.st_atim.tv_sec;
  e->f[9] = st.st_atim.tv_nsec;
  e->f[10] = st.st_mtim.tv_sec;
  e->f[11] = st.st_mtim.tv_nsec;
  e->f[12] = st.st_ctim.tv_sec;
  e->f[13] = st.st_ctim.tv_nsec;
  /* llistxattr needs a path: dir + "/" + name. */
  char *p = malloc(dlen + 1 + e->len + 1);
  if (!p) {
    e->f[14] = -ENOMEM;
    return;
  }
  memcpy(p, dir, dlen);
  size_t o = dlen;
  if (o == 0 || p[o - 1] != '/') p[o++] = '/';
  memcpy(p + o, e->name, e->len + 1);
  ssize_t x = llistxattr(p, NULL, 0);
  free(p);
  e->f[14] = x >= 0 ? x : (errno == ENOTSUP ? 0 : -errno);
}

napi_value lifeboat_js_scan_dir(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  bool isbuf = false;
  void *data;
  size_t dlen = 0;
  if (argc < 1 || napi_is_buffer(env, argv[0], &isbuf) != napi_ok || !isbuf || napi_get_buffer_info(env, argv[0], &data, &dlen) != napi_ok) {
    napi_throw_type_error(env, NULL, "scanDir: expected a path as a Buffer");
    return NULL;
  }
  if (memchr(data, 0, dlen) != NULL) {
    napi_throw_error(env, "ERR_INVALID_ARG_VALUE", "scanDir: path contains a NUL byte");
    return NULL;
  }
  char *dir = malloc(dlen + 1);
  if (!dir) return NULL;
  memcpy(dir, data, dlen);
  dir[dlen] = 0;
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    free(dir);
    return lifeboat_throw_errno(env, errno, "opendir", argv[0]);
  }
  DIR *d = fdopendir(fd);
  if (!d) {
    int e = errno;
    close(fd);
    free(dir);
    return lifeboat_throw_errno(env, e, "fdopendir", argv[0]);
  }
  size_t n = 0, cap = 64;
  entry *es = malloc(cap * sizeof *es);
  int failed = es ? 0 : ENOMEM;
  while (!failed) {
    errno = 0;
    struct dirent *ent = readdir(d);
    if (!ent) {
      failed = errno;
      break;
    }
    const char *nm = ent->d_name;
    if (nm[0] == '.' && (nm[1] == 0 || (nm[1] == '.' && nm[2] == 0))) continue;
    if (n == cap) {
      entry *grown = realloc(es, (cap *= 2) * sizeof *es);
      if (!grown) {
        failed = ENOMEM;
        break;
      }
      es = grown;
    }
    es[n].len = strlen(nm);
    es[n].name = strdup(nm);
    if (!es[n].name) {
      failed = ENOMEM;
      break;
    }
    n++;
  }
  if (failed) {
    closedir(d);
    free(dir);
    if (es) free_entries(es, n);
    return lifeboat_throw_errno(env, failed, "readdir", argv[0]);
  }
  qsort(es, n, sizeof *es, by_name);
  for (size_t i = 0; i < n; i++) fill(&es[i], dirfd(d), dir, dlen);
  closedir(d);
  free(dir);

  /* Names go out as one buffer and their end offsets: a Buffer per name cost an allocation and
   * a finalizer each, which the garbage collector then paid for during key derivation. */
  size_t total = 0;
  for (size_t i = 0; i < n; i++) total += es[i].len;
  napi_value names, ends_ab, ends, ab, fields, result;
  int64_t *out = NULL;
  uint32_t *end = NULL;
  char *nb = NULL;
  if (total > UINT32_MAX || napi_create_buffer(env, total, (void **)&nb, &names) != napi_ok ||
      napi_create_arraybuffer(env, n * sizeof(uint32_t), (void **)&end, &ends_ab) != napi_ok ||
      napi_create_typedarray(env, napi_uint32_array, n, ends_ab, 0, &ends) != napi_ok ||
      napi_create_arraybuffer(env, n * SCAN_FIELDS * sizeof(int64_t), (void **)&out, &ab) != napi_ok ||
      napi_create_typedarray(env, napi_bigint64_array, n * SCAN_FIELDS, ab, 0, &fields) != napi_ok) {
    free_entries(es, n);
    return NULL;
  }
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    memcpy(nb + o, es[i].name, es[i].len);
    o += es[i].len;
    end[i] = (uint32_t)o;
    memcpy(out + i * SCAN_FIELDS, es[i].f, sizeof es[i].f);
  }
  free_entries(es, n);
  if (napi_create_array_with_length(env, 3, &result) != napi_ok || napi_set_element(env, result, 0, names) != napi_ok ||
      napi_set_element(env, result, 1, ends) != napi_ok || napi_set_element(env, result, 2, fields) != napi_ok)
    return NULL;
  return result;
}
