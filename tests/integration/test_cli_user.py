"""postbox user / postbox alias, driven as an administrator would.

Runs the real binary ($POSTBOX_BIN) against a throw-away data directory and
checks exit codes, the one-line "postbox GROUP: cause" errors, what lands on
disk (modes, Maildir, SQLite), and that a password never shows up anywhere
but the hash: not in argv, stdout, stderr, or the database file."""

import os
import sqlite3
import stat
import subprocess
import tempfile
import time
import unittest

BIN = os.environ.get("POSTBOX_BIN", "postbox")
SECRET = "Corr3ct-Horse-Battery-Staple"


class Result:
    def __init__(self, proc, out, err):
        self.code = proc.returncode
        self.out = out
        self.err = err


class CliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="postbox-cli-")
        self.dir = self.tmp.name
        self.data = os.path.join(self.dir, "data")
        self.conf = os.path.join(self.dir, "postbox.conf")
        with open(self.conf, "w") as f:
            f.write("[server]\n"
                    "hostname = mx.a.test\n"
                    "data_dir = %s\n"
                    "domains = a.test b.test\n" % self.data)
        self.outputs = []

    def tearDown(self):
        # Whatever ran, the password never reached an output stream.
        for text in self.outputs:
            self.assertNotIn(SECRET, text)
        self.tmp.cleanup()

    def run_cli(self, *args, stdin=None, conf=True):
        argv = [BIN] + list(args) + (["-c", self.conf] if conf else [])
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                start_new_session=True)  # no controlling tty
        out, err = proc.communicate(stdin if stdin is not None else "", timeout=60)
        self.outputs += [out, err]
        return Result(proc, out, err)

    def ok(self, *args, **kw):
        r = self.run_cli(*args, **kw)
        self.assertEqual(r.code, 0, "%s: %s" % (args, r.err))
        self.assertEqual(r.err, "", args)
        return r

    def fails(self, group, *args, **kw):
        """Exit 1 with exactly one line "postbox GROUP: cause"; returns the cause."""
        r = self.run_cli(*args, **kw)
        self.assertEqual(r.code, 1, "%s: out=%r err=%r" % (args, r.out, r.err))
        lines = r.err.splitlines()
        self.assertEqual(len(lines), 1, r.err)
        self.assertTrue(r.err.endswith("\n"))
        prefix = "postbox %s: " % group
        self.assertTrue(lines[0].startswith(prefix), lines[0])
        return lines[0][len(prefix):]

    def add_user(self, address, password=SECRET):
        return self.ok("user", "add", address, "--password-stdin", stdin=password + "\n")

    def users(self):
        return self.ok("user", "list").out.splitlines()

    def aliases(self):
        return self.ok("alias", "list").out.splitlines()

    def db(self):
        return sqlite3.connect(os.path.join(self.data, "postbox.db"))

    def hash_of(self, address):
        with self.db() as db:
            row = db.execute("SELECT hash FROM users WHERE address = ?", (address,)).fetchone()
        return row[0] if row else None


class UserTest(CliTest):
    def test_add_creates_user_maildir_and_private_db(self):
        r = self.add_user("Alice@A.Test")
        self.assertIn("alice@a.test", r.out)
        self.assertEqual(self.users(), ["alice@a.test"])
        root = os.path.join(self.data, "mail", "a.test", "alice")
        for sub in ("", "cur", "new", "tmp"):
            st = os.stat(os.path.join(root, sub))
            self.assertTrue(stat.S_ISDIR(st.st_mode))
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o700, sub)
        # Issue 3 / RFC 6154: new users get the special-use folders too.
        for folder in (".Sent", ".Drafts", ".Trash", ".Junk", ".Archive"):
            for sub in ("cur", "new", "tmp"):
                self.assertTrue(os.path.isdir(os.path.join(root, folder, sub)), folder)
        st = os.stat(os.path.join(self.data, "postbox.db"))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        with self.db() as db:
            self.assertEqual(db.execute("PRAGMA journal_mode").fetchone()[0], "wal")
            self.assertEqual(db.execute("PRAGMA user_version").fetchone()[0], 1)
            row = db.execute("SELECT local, domain FROM users").fetchone()
        self.assertEqual(row, ("alice", "a.test"))

    def test_password_stored_only_as_yescrypt(self):
        self.add_user("alice@a.test")
        self.add_user("bob@a.test")
        h = self.hash_of("alice@a.test")
        self.assertTrue(h.startswith("$y$"), h)
        self.assertNotEqual(h, self.hash_of("bob@a.test"))  # salted
        for name in os.listdir(self.data):
            path = os.path.join(self.data, name)
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    self.assertNotIn(SECRET.encode(), f.read(), name)

    def test_password_never_in_argv(self):
        # While add waits for its password, its command line is public
        # (/proc/PID/cmdline, ps): it must not hold the password.
        argv = [BIN, "user", "add", "alice@a.test", "--password-stdin", "-c", self.conf]
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        time.sleep(0.2)
        with open("/proc/%d/cmdline" % proc.pid, "rb") as f:
            self.assertNotIn(SECRET.encode(), f.read())
        out, err = proc.communicate(SECRET + "\n", timeout=60)
        self.outputs += [out, err]
        self.assertEqual(proc.returncode, 0, err)

    def test_password_options_refused_without_echo(self):
        for args in (["--password=" + SECRET], ["--password", SECRET], ["-p", SECRET],
                     ["--passwd=" + SECRET], ["-p" + SECRET]):
            cause = self.fails("user", "user", "add", "bob@a.test", *args)
            self.assertIn("not accepted as arguments", cause)
        self.assertEqual(self.users(), [])
        self.assertFalse(os.path.exists(os.path.join(self.data, "mail", "a.test", "bob")))

    def test_no_password(self):
        # Without --password-stdin and without a terminal there is no way
        # to ask: refuse rather than read a password that echoes.
        cause = self.fails("user", "user", "add", "bob@a.test", stdin=SECRET + "\n")
        self.assertIn("--password-stdin", cause)
        self.fails("user", "user", "add", "bob@a.test", "--password-stdin", stdin="")
        self.fails("user", "user", "add", "bob@a.test", "--password-stdin", stdin="\n")
        self.assertEqual(self.users(), [])

    def test_duplicate_is_refused_case_insensitively(self):
        self.add_user("alice@a.test")
        before = self.hash_of("alice@a.test")
        cause = self.fails("user", "user", "add", "ALICE@a.test", "--password-stdin",
                           stdin="other\n")
        self.assertEqual(cause, "alice@a.test: user already exists")
        self.assertEqual(self.hash_of("alice@a.test"), before)

    def test_domain_must_be_local(self):
        cause = self.fails("user", "user", "add", "bob@c.test", "--password-stdin",
                           stdin=SECRET + "\n")
        self.assertIn("c.test is not one of the [server] domains", cause)
        self.assertEqual(self.users(), [])

    def test_bad_addresses(self):
        for bad in ("bob", "bob@", "@a.test", "a/b@a.test", "../x@a.test", "..@a.test",
                    "a%b@a.test", "a!b@a.test", "a b@a.test", "a@b@a.test",
                    "a@[127.0.0.1]", "a\n@a.test", "x" * 65 + "@a.test"):
            self.fails("user", "user", "add", bad, "--password-stdin", stdin=SECRET + "\n")
        self.assertEqual(self.users(), [])
        mail = os.path.join(self.data, "mail")
        self.assertEqual(os.listdir(mail) if os.path.isdir(mail) else [], [])

    def test_passwd(self):
        self.add_user("alice@a.test")
        before = self.hash_of("alice@a.test")
        r = self.ok("user", "passwd", "Alice@a.test", "--password-stdin", stdin="n3w-pass\n")
        self.assertIn("alice@a.test", r.out)
        after = self.hash_of("alice@a.test")
        self.assertTrue(after.startswith("$y$"))
        self.assertNotEqual(before, after)
        cause = self.fails("user", "user", "passwd", "bob@a.test", "--password-stdin",
                           stdin="x\n")
        self.assertEqual(cause, "bob@a.test: no such user")

    def test_del_keeps_mail(self):
        self.add_user("alice@a.test")
        self.add_user("bob@b.test")
        maildir = os.path.join(self.data, "mail", "a.test", "alice")
        with open(os.path.join(maildir, "new", "1.msg"), "w") as f:
            f.write("Subject: keep me\n\nhi\n")
        self.ok("alias", "add", "team@a.test", "alice@a.test", "bob@b.test")
        r = self.ok("user", "del", "ALICE@a.test")
        self.assertIn("kept", r.out)
        self.assertIn("alias team@a.test still points to alice@a.test", r.out)
        self.assertTrue(os.path.exists(os.path.join(maildir, "new", "1.msg")))
        self.assertEqual(self.users(), ["bob@b.test"])
        cause = self.fails("user", "user", "del", "alice@a.test")
        self.assertEqual(cause, "alice@a.test: no such user")
        # Re-adding reuses the kept Maildir.
        self.add_user("alice@a.test")
        self.assertTrue(os.path.exists(os.path.join(maildir, "new", "1.msg")))

    @unittest.skipUnless(os.geteuid() == 0, "needs root")
    def test_root_gives_maildir_to_server_user(self):
        import pwd
        try:
            nobody = pwd.getpwnam("nobody")
        except KeyError:
            self.skipTest("no user nobody")
        with open(self.conf, "a") as f:
            f.write("user = nobody\n")
        self.add_user("alice@a.test")
        root = os.path.join(self.data, "mail", "a.test", "alice")
        for sub in ("", "cur", "new", "tmp", "..", "../..", "index.db", ".Sent/cur"):
            st = os.stat(os.path.normpath(os.path.join(root, sub)))
            self.assertEqual((st.st_uid, st.st_gid), (nobody.pw_uid, nobody.pw_gid), sub)

    def test_list_sorted(self):
        for a in ("carol@b.test", "bob@a.test", "alice@a.test"):
            self.add_user(a)
        self.assertEqual(self.users(), ["alice@a.test", "bob@a.test", "carol@b.test"])

    def test_usage_errors_and_help(self):
        for args in (["user", "--help"], ["user", "add", "--help"], ["user", "list", "-h"],
                     ["user", "passwd", "--help"], ["user", "del", "--help"]):
            r = self.ok(*args)
            self.assertIn("usage: postbox user", r.out)
        self.fails("user", "user")
        self.fails("user", "user", "frob")
        self.fails("user", "user", "add")
        self.fails("user", "user", "list", "extra@a.test")
        self.fails("user", "user", "del", "a@a.test", "--password-stdin")
        self.fails("user", "user", "add", "a@a.test", "b@a.test", "--password-stdin")
        self.fails("user", "user", "add", "a@a.test", "--bogus")

    def test_config_problems(self):
        cause = self.fails("user", "user", "list", "-c",
                           os.path.join(self.dir, "missing.conf"), conf=False)
        self.assertIn("missing.conf", cause)
        with open(self.conf, "w") as f:
            f.write("[server]\ndata_dir = %s\ndomains =\n" % self.data)
        cause = self.fails("user", "user", "list")
        self.assertIn("domains", cause)

    def test_config_from_environment(self):
        env = dict(os.environ, POSTBOX_CONF=self.conf)
        proc = subprocess.run([BIN, "user", "add", "alice@a.test", "--password-stdin"],
                              input=SECRET + "\n", capture_output=True, text=True, env=env,
                              timeout=60)
        self.outputs += [proc.stdout, proc.stderr]
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.users(), ["alice@a.test"])


class AliasTest(CliTest):
    def setUp(self):
        super().setUp()
        self.add_user("alice@a.test")
        self.add_user("bob@a.test")

    def test_add_list_del(self):
        self.ok("alias", "add", "Postmaster@A.test", "alice@a.test", "BOB@a.test")
        self.ok("alias", "add", "postmaster@a.test", "alice@a.test")  # duplicate ignored
        self.ok("alias", "add", "@b.test", "alice@a.test")            # catch-all
        self.assertEqual(self.aliases(), [
            "@b.test alice@a.test",
            "postmaster@a.test alice@a.test",
            "postmaster@a.test bob@a.test",
        ])
        self.ok("alias", "del", "postmaster@a.test", "bob@a.test")
        self.assertEqual(self.aliases(), ["@b.test alice@a.test",
                                          "postmaster@a.test alice@a.test"])
        cause = self.fails("alias", "alias", "del", "postmaster@a.test", "bob@a.test")
        self.assertIn("no such target", cause)
        self.ok("alias", "del", "@b.test")
        self.ok("alias", "del", "postmaster@a.test")
        self.assertEqual(self.aliases(), [])
        cause = self.fails("alias", "alias", "del", "postmaster@a.test")
        self.assertIn("no such alias", cause)

    def test_remote_target_accepted(self):
        """Issue 8: a target elsewhere is forwarded by the queue."""
        r = self.run_cli("alias", "add", "fwd@a.test", "someone@elsewhere.test")
        self.assertEqual(r.code, 0, r.err)
        self.assertIn("someone@elsewhere.test", "\n".join(map(str, self.aliases())))

    def test_alias_domain_must_be_local(self):
        cause = self.fails("alias", "alias", "add", "x@c.test", "alice@a.test")
        self.assertIn("c.test is not one of the [server] domains", cause)
        self.fails("alias", "alias", "add", "@c.test", "alice@a.test")

    def test_bad_aliases_and_targets(self):
        for args in (["x@a.test"], ["x/y@a.test", "alice@a.test"],
                     ["x@a.test", "@a.test"], ["x@a.test", "a%b@a.test"],
                     ["x@a.test", "alice@[127.0.0.1]"], ["bare", "alice@a.test"]):
            self.fails("alias", "alias", "add", *args)
        self.assertEqual(self.aliases(), [])

    def test_notes(self):
        r = self.ok("alias", "add", "alice@a.test", "bob@a.test")
        self.assertIn("alice@a.test is also a user", r.out)
        r = self.ok("alias", "add", "list@a.test", "nobody@a.test")
        self.assertIn("nobody@a.test is not a user or an alias", r.out)

    def test_help_and_usage(self):
        for args in (["alias", "--help"], ["alias", "add", "-h"], ["alias", "list", "--help"]):
            self.assertIn("usage: postbox alias", self.ok(*args).out)
        self.fails("alias", "alias")
        self.fails("alias", "alias", "frob")
        self.fails("alias", "alias", "add")
        self.fails("alias", "alias", "list", "x@a.test")
        self.fails("alias", "alias", "add", "x@a.test", "alice@a.test", "--bogus")


if __name__ == "__main__":
    unittest.main()
