/**
 * FTP reply codes by meaning. RFC 959 §4.2.1 unless noted; the names are what the code says,
 * so a handler reads `reply(Code.FILE_UNAVAILABLE, ...)`, never a bare number.
 */
export const Code = {
  /** 150 File status okay; about to open data connection. */
  OPENING_DATA: 150,
  /** 200 Command okay. */
  OK: 200,
  /** 202 Command not implemented, superfluous at this site. */
  SUPERFLUOUS: 202,
  /** 211 System status, or system help reply (FEAT, STAT without argument). */
  SYSTEM_STATUS: 211,
  /** 213 File status (SIZE, MDTM, STAT of a path, MFMT: RFC 3659). */
  FILE_STATUS: 213,
  /** 214 Help message. */
  HELP: 214,
  /** 215 NAME system type. */
  SYSTEM_TYPE: 215,
  /** 220 Service ready for new user. */
  READY: 220,
  /** 221 Service closing control connection. */
  CLOSING: 221,
  /** 225 Data connection open; no transfer in progress. */
  DATA_OPEN: 225,
  /** 226 Closing data connection; requested file action successful. */
  TRANSFER_COMPLETE: 226,
  /** 227 Entering Passive Mode (h1,h2,h3,h4,p1,p2). */
  PASSIVE: 227,
  /** 229 Entering Extended Passive Mode (RFC 2428 §3). */
  EXTENDED_PASSIVE: 229,
  /** 230 User logged in, proceed. */
  LOGGED_IN: 230,
  /** 234 Security data exchange complete (AUTH, RFC 2228 §4). */
  AUTH_OK: 234,
  /** 250 Requested file action okay, completed. */
  FILE_ACTION_OK: 250,
  /** 257 "PATHNAME" created (also PWD). */
  PATH_CREATED: 257,
  /** 331 User name okay, need password. */
  NEED_PASSWORD: 331,
  /** 350 Requested file action pending further information (RNFR, REST). */
  PENDING: 350,
  /** 421 Service not available, closing control connection. */
  SERVICE_UNAVAILABLE: 421,
  /** 425 Can't open data connection. */
  CANT_OPEN_DATA: 425,
  /** 426 Connection closed; transfer aborted. */
  TRANSFER_ABORTED: 426,
  /** 450 Requested file action not taken: file unavailable (busy); HASH when the server is busy. */
  FILE_BUSY: 450,
  /** 451 Requested action aborted: local error in processing. */
  LOCAL_ERROR: 451,
  /** 500 Syntax error, command unrecognized. */
  UNKNOWN_COMMAND: 500,
  /** 501 Syntax error in parameters or arguments. */
  BAD_ARGUMENTS: 501,
  /** 502 Command not implemented. */
  NOT_IMPLEMENTED: 502,
  /** 503 Bad sequence of commands. */
  BAD_SEQUENCE: 503,
  /** 504 Command not implemented for that parameter. */
  PARAMETER_NOT_IMPLEMENTED: 504,
  /** 520 Pure-FTPd's refusal of ESTA/ESTP when no such connection is pending (no RFC meaning). */
  ESTABLISH_REFUSED: 520,
  /** 521 Data connection cannot be opened with this PROT setting (RFC 4217 §9). */
  PROT_REQUIRED: 521,
  /** 522 Network protocol not supported (RFC 2428 §2). */
  PROTOCOL_NOT_SUPPORTED: 522,
  /** 530 Not logged in. */
  NOT_LOGGED_IN: 530,
  /** 534 Request denied for policy reasons (RFC 2228 §5). */
  POLICY_DENIED: 534,
  /** 550 Requested action not taken; file unavailable. */
  FILE_UNAVAILABLE: 550,
  /** 552 Requested file action aborted; exceeded storage allocation. */
  EXCEEDED_STORAGE: 552,
  /** 553 Requested action not taken; file name not allowed. */
  NAME_NOT_ALLOWED: 553,
  /** 554 Requested action not taken: invalid REST parameter (RFC 3659 §5.5). */
  INVALID_REST: 554,
} as const;

/** One of the reply codes above. */
export type ReplyCode = (typeof Code)[keyof typeof Code];
