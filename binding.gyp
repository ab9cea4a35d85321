{
  "targets": [
    {
      "target_name": "lifeboat_posix",
      "sources": ["src/native/posix.c", "src/native/poly1305.c", "src/native/readdir.c"],
      "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter", "-O3"],
      "cflags_c": ["-std=gnu11"]
    }
  ]
}
