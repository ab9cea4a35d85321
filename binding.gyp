{
  "targets": [
    {
      "target_name": "lifeboat_posix",
      "sources": ["src/native/posix.c"],
      "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_c": ["-std=gnu11"]
    }
  ]
}
