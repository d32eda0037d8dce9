/**
 * `tsftpd pw`: virtual-user administration, the pure-pw of tsftpd (docs/architecture.md, upstream §4.1).
 * Same actions, options, units, files, output and exit statuses as pure-pw, so scripts written
 * for one work with the other. Files default to what the server reads without `-l`:
 * `$PURE_PASSWDFILE` / `$PURE_DBFILE`, else /etc/pure-ftpd/pureftpd.{passwd,pdb}.
 */
import { defaultUserFiles } from '../../auth/default-files.js';
import { isAcceptableLogin } from '../../auth/passwd-line.js';
import { errorLine, toBinary } from '../output.js';
import { PW_EXIT, userAdd, userDel, userMod, userPasswd, userShow, type PwCommandInput } from './commands.js';
import { importSystem } from './import-system.js';
import { makeDatabase } from './mkdb.js';
import { PwUsageError, parsePwArgs, reportUsageError } from './options.js';
import { listAccounts } from './show.js';

/** Our own usage text (pure-pw's is not reproduced); printed on stdout with status 0, as pure-pw. */
const USAGE = `
Usage:

tsftpd pw useradd <login> -u <uid|user> [-g <gid|group>] -d|-D <home> [options] [-m]
tsftpd pw usermod <login> [options] [-m]
tsftpd pw userdel <login> [-f <passwd file>] [-m]
tsftpd pw passwd  <login> [-f <passwd file>] [-m]
tsftpd pw show    <login> [-f <passwd file>]
tsftpd pw list    [-f <passwd file>]
tsftpd pw mkdb    [<pdb file>] [-f <passwd file>]
tsftpd pw import-system          (system accounts as passwd lines, like pure-pwconvert)

Options (an empty value, as in -t '', removes the setting on usermod):
  -u <uid|user>   system uid files belong to (a user name also sets the gid), > 0
  -g <gid|group>  system gid, > 0
  -d <dir>        home, the user is confined to it (recommended)
  -D <dir>        home, not confined
  -c <text>       full name / comment
  -t <KB/s>       download bandwidth limit
  -T <KB/s>       upload bandwidth limit
  -n <count>      quota: maximum number of files
  -N <MB>         quota: maximum total size
  -q <n> / -Q <n> upload / download ratio (e.g. -q 1 -Q 10 for 1:10)
  -r / -R <ips>   allowed / denied client addresses (a.b.c.d or a.b.c.d/bits, comma-separated)
  -i / -I <ips>   allowed / denied server (local) addresses
  -y <n>          maximum simultaneous sessions (0: no limit)
  -z <hhmm-hhmm>  hours when logging in is allowed, e.g. -z 0900-1800
  -f <file>       passwd file (default: $PURE_PASSWDFILE or /etc/pure-ftpd/pureftpd.passwd)
  -F <file>       pdb file (default: $PURE_DBFILE or /etc/pure-ftpd/pureftpd.pdb)
  -m              rebuild the pdb file after the change (the server reads only the pdb)
  -C <n>          concurrent logins the password hash is sized for (default 8)
  -M <MB>         memory shared by those logins for password hashing (default 64)

`;

/** The default files, ignoring empty environment values as pure-pw does. */
function defaults(): { pdb: string; passwd: string } {
  const env: NodeJS.ProcessEnv = {};
  if (process.env.PURE_DBFILE) env.PURE_DBFILE = process.env.PURE_DBFILE;
  if (process.env.PURE_PASSWDFILE) env.PURE_PASSWDFILE = process.env.PURE_PASSWDFILE;
  return defaultUserFiles(false, env);
}

/** Prints the usage; exit status 0 like pure-pw's help(). */
function usage(): number {
  process.stdout.write(USAGE);
  return 0;
}

/** The login operand as stored: binary string with `:` made `_` (pure-pw's filter). */
function loginOperand(operand: string | undefined): string | undefined {
  if (operand === undefined || operand === '') return undefined;
  const login = toBinary(operand).replaceAll(':', '_');
  // A line break would forge another account; the server refuses longer names anyway (upstream §12).
  if (!isAcceptableLogin(Buffer.from(login, 'latin1').toString('utf8'))) {
    throw new PwUsageError(
      `Invalid login [${login}]: at most 127 bytes, no control characters`,
      PW_EXIT.missingLogin,
    );
  }
  return login;
}

/** Runs `tsftpd pw <action> ...`; resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  const action = argv[0]?.toLowerCase();
  if (action === undefined || action === '-h' || action === '--help') return usage();
  let input: PwCommandInput;
  let pdbFile: string;
  try {
    const req = await parsePwArgs(argv.slice(1));
    if (req.help) return usage();
    const files = defaults();
    input = {
      req,
      login: action === 'mkdb' ? undefined : loginOperand(req.operands[0]),
      passwdFile: req.passwdFile ?? files.passwd,
    };
    // pure-pw's mkdb takes the pdb file as its operand and ignores -F; we accept either.
    pdbFile = (action === 'mkdb' ? req.operands[0] : undefined) || req.pdbFile || files.pdb;
  } catch (err) {
    if (!(err instanceof PwUsageError)) throw err;
    reportUsageError(err);
    return err.showUsage ? usage() : err.status;
  }
  let status: number;
  switch (action) {
    case 'useradd':
      status = await userAdd(input);
      break;
    case 'usermod':
      status = await userMod(input);
      break;
    case 'userdel':
      status = await userDel(input);
      break;
    case 'passwd':
      status = await userPasswd(input);
      break;
    case 'show':
      return userShow(input);
    case 'list':
      return listAccounts(input.passwdFile);
    case 'mkdb':
      return makeDatabase(pdbFile, input.passwdFile);
    case 'import-system':
      return importSystem();
    default:
      errorLine(toBinary(`tsftpd pw: unknown command "${argv[0]}"`));
      return usage();
  }
  // As pure-pw: -m rebuilds even after a failed change, and both statuses are OR-ed.
  if (input.req.rebuildPdb) status |= await makeDatabase(pdbFile, input.passwdFile);
  return status;
}
