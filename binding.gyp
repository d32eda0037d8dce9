{
  "variables": {
    "has_pam%": "<!(sh -c 'test -f /usr/include/security/pam_appl.h && echo 1 || echo 0')"
  },
  "target_defaults": {
    "defines": ["NAPI_VERSION=8"]
  },
  "targets": [
    {
      "target_name": "tsftpd_crypt",
      "sources": ["native/crypt.c"],
      "libraries": ["-lcrypt", "-ldl", "-lpthread"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-pthread"]
    },
    {
      "target_name": "tsftpd_fs",
      "sources": ["native/confined.c", "native/resolve.c", "native/dirscan.c"],
      "libraries": ["-lpthread"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-pthread"]
    },
    {
      "target_name": "tsftpd_quota",
      "sources": ["native/quotawalk.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    },
    {
      "target_name": "tsftpd_channel",
      "sources": ["native/channel.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    },
    {
      "target_name": "tsftpd_pump",
      "sources": ["native/pump.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    },
    {
      "target_name": "tsftpd_syslog",
      "sources": ["native/syslog.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ],
  "conditions": [
    ["has_pam==1", {
      "targets": [
        {
          "target_name": "tsftpd_pam",
          "sources": ["native/pam.c"],
          "libraries": ["-lpam"],
          "cflags": ["-O2", "-Wall", "-Wextra"]
        }
      ]
    }]
  ]
}
