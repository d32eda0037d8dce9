{
  "targets": [
    {
      "target_name": "tsftpd_crypt",
      "sources": ["native/crypt.c"],
      "libraries": ["-lcrypt"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
