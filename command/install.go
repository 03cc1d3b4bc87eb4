package command

// User is the user a command wrapped by u ends up running as, following
// the wrapper order of Wrap (doas outside sudo outside su, so the innermost
// switch wins): su's user, else sudo's (root without one), else doas's
// (root without one). It is "" when u switches no user. _sudo_user without
// _sudo (or _doas_user without _doas) switches nothing.
func (u Unix) User() string {
	switch {
	case u.SuUser != "":
		return u.SuUser
	case u.Sudo && u.SudoUser != "":
		return u.SudoUser
	case u.Sudo:
		return "root"
	case u.Doas && u.DoasUser != "":
		return u.DoasUser
	case u.Doas:
		return "root"
	}
	return ""
}

// Escalation returns only u's user switch (sudo, su, doas and their
// flags), without the command's environment, directory and shell: the
// wrapping for helper commands that run as the same user.
func (u Unix) Escalation() Unix {
	return Unix{
		Doas: u.Doas, DoasUser: u.DoasUser,
		Sudo: u.Sudo, SudoUser: u.SudoUser, UseSudoLogin: u.UseSudoLogin, PreserveSudoEnv: u.PreserveSudoEnv,
		SudoAskpass: u.SudoAskpass, SudoStdin: u.SudoStdin,
		SuUser: u.SuUser, UseSuLogin: u.UseSuLogin, PreserveSuEnv: u.PreserveSuEnv, SuShell: u.SuShell,
	}
}

// InstallScript installs a staged file as the user it runs as: it copies
// the file named by $1 to a temporary file beside the destination $2, gives
// it the replaced file's owner and mode (a new file gets the running user's
// umask; owner before mode, since chown clears set-id bits), and renames it
// into place, so $2 is either its old content or the whole new one. The
// trap removes the temporary file on every path. Run it as
// `sh -c InstallScript goinfra-put STAGED DEST`; every connector that
// installs a staged upload uses it. StatOwnerMode reads the owner and mode
// with GNU's, busybox's or the BSDs' and macOS's stat.
const InstallScript = `set -e
t=$(mktemp "$(dirname "$2")/.$(basename "$2").goinfra-XXXXXXXXXX")
trap 'rm -f "$t"' EXIT HUP INT TERM
cat "$1" > "$t"
if [ -e "$2" ]; then
  ` + StatOwnerMode + `
  chown "$(stat $own "$2")" "$t" 2>/dev/null || true
  chmod "$(stat $perm "$2")" "$t"
else
  chmod "$(printf %o $((0666 & ~$(umask))))" "$t"
fi
mv -f "$t" "$2"
trap - EXIT HUP INT TERM`

// StatOwnerMode is shell that sets own and perm to the stat options that
// print a file's "uid:gid" and its octal mode with the set-id and sticky
// bits (for chown and chmod): GNU's and busybox's stat -c, else the BSDs'
// and macOS's stat -f, told apart on / (a file given may be unreadable).
// Use them unquoted: stat $own FILE.
const StatOwnerMode = `if stat -c %a / >/dev/null 2>&1; then own='-c %u:%g' perm='-c %a'; else own='-f %u:%g' perm='-f %Mp%Lp'; fi`

// Install is the command that runs InstallScript for staged and dest.
func Install(staged, dest string) Command {
	return New("sh", "-c", Quoted(InstallScript), "goinfra-put", Quoted(staged), Quoted(dest))
}
