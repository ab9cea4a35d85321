{
  "targets": [
    {
      "target_name": "lifeboat_posix",
      "sources": ["src/native/posix.c", "src/native/poly1305.c", "src/native/chunker.c", "src/native/aead.c", "src/native/zstd.c", "src/native/scandir.c"],
      "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter", "-O3"],
      "cflags_c": ["-std=gnu11"],
      "libraries": ["-lzstd"]
    }
  ]
}
