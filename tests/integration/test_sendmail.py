"""postbox sendmail: the sendmail(1) command of programs on the server
(cron, mail(1), scripts), issue 8. Its command line and exit codes
(sysexits.h) are what those callers test; mail goes through the running
daemon's local socket."""

import os
import pwd
import stat
import subprocess
import tempfile
import unittest

import pbtest

EX_USAGE, EX_TEMPFAIL, EX_NOPERM, EX_CONFIG = 64, 75, 77, 78


def as_nobody():
    """preexec_fn: the CLI runs as the Unix user nobody, as a user's cron
    job would (the tests run as root)."""
    os.setgroups([])
    os.setgid(pwd.getpwnam("nobody").pw_gid)
    os.setuid(pwd.getpwnam("nobody").pw_uid)


def sendmail(server, args, data=b"Subject: t\n\nbody\n", argv0=None, conf=None,
             preexec_fn=None):
    """Runs postbox sendmail ARGS with data on stdin; argv0 "sendmail"
    runs the binary under that name (a symlink), as /usr/sbin/sendmail."""
    binary = pbtest.postbox_bin()
    cmd = [binary, "sendmail"]
    tmp = None
    if argv0 is not None:
        tmp = tempfile.mkdtemp(prefix="pbtest-sm-")
        link = os.path.join(tmp, argv0)
        os.symlink(os.path.abspath(binary), link)
        cmd = [link]
    cmd += ["-C", conf or server.conf] + list(args)
    try:
        return subprocess.run(cmd, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=60, preexec_fn=preexec_fn)
    finally:
        if tmp is not None:
            os.unlink(os.path.join(tmp, argv0))
            os.rmdir(tmp)


class SendmailCommandLineTest(unittest.TestCase):

    def test_usage_errors_exit_64(self):
        with pbtest.Server(start=False) as s:
            for args in (["-Z"], ["-f"], ["-bs"], ["-R", "everything"]):
                p = sendmail(s, args)
                self.assertEqual(p.returncode, EX_USAGE, args)
                self.assertTrue(p.stderr.startswith(b"postbox sendmail: "), p.stderr)
                self.assertEqual(p.stderr.count(b"\n"), 1, p.stderr)
            p = sendmail(s, [], data=b"Subject: nobody\n\nx\n")
            self.assertEqual(p.returncode, EX_USAGE)
            self.assertIn(b"no recipients", p.stderr)

    def test_daemon_not_running_is_tempfail(self):
        """A caller such as cron keeps the message and retries on 75."""
        with pbtest.Server(start=False) as s:
            p = sendmail(s, ["v@a.test"])
            self.assertEqual(p.returncode, EX_TEMPFAIL, p.stderr)
            self.assertIn(b"cannot reach the postbox daemon", p.stderr)

    def test_bad_config_exits_78(self):
        with pbtest.Server(start=False) as s:
            p = sendmail(s, ["v@a.test"], conf=os.path.join(s.tmp, "missing.conf"))
            self.assertEqual(p.returncode, EX_CONFIG)

    def test_called_as_mailq_lists_the_queue(self):
        with pbtest.Server(start=False) as s:
            p = sendmail(s, [], argv0="mailq")
            self.assertEqual(p.returncode, 0, p.stderr)
            p = sendmail(s, ["--help"], argv0="sendmail")
            self.assertEqual(p.returncode, 0)
            self.assertIn(b"usage: postbox sendmail", p.stdout)


def header(msg, name):
    """The values of the header fields called name (unfolded)."""
    head = msg.split(b"\n\n", 1)[0].replace(b"\n\t", b" ").replace(b"\n ", b" ")
    key = name.lower().encode() + b":"
    return [l[len(key):].strip() for l in head.split(b"\n") if l.lower().startswith(key)]


class SendmailDeliveryTest(unittest.TestCase):
    """Mail through the daemon's local socket (docs/sendmail.md)."""

    def test_delivers_and_completes_the_message(self):
        """RFC 6409 8.2, 8.3: Date: and Message-ID: are added as in
        submission; Received: names the kernel's uid (RFC 5321 4.4)."""
        with pbtest.Server() as s:
            p = sendmail(s, ["-f", "v@a.test", "v@a.test"], data=b"Subject: hi\n\nbody\n")
            self.assertEqual(p.returncode, 0, p.stderr)
            msgs = s.maildir_messages("v@a.test")
            self.assertEqual(len(msgs), 1)
            m = msgs[0][1]
            self.assertEqual(header(m, "Return-Path"), [b"<v@a.test>"])
            self.assertEqual(len(header(m, "Date")), 1, m)
            self.assertEqual(len(header(m, "Message-ID")), 1, m)
            received = header(m, "Received")
            self.assertEqual(len(received), 1, m)
            self.assertTrue(received[0].startswith(b"from localhost (uid 0 root)"), received)
            self.assertTrue(m.endswith(b"\n\nbody\n"), m)

    def test_t_delivers_to_to_and_bcc_without_bcc(self):
        with pbtest.Server(users=["v@a.test", "w@a.test"]) as s:
            p = sendmail(s, ["-t"], data=b"To: v@a.test\nBcc: w@a.test\nSubject: t\n\nx\n")
            self.assertEqual(p.returncode, 0, p.stderr)
            for rcpt in ("v@a.test", "w@a.test"):
                msgs = s.maildir_messages(rcpt)
                self.assertEqual(len(msgs), 1, rcpt)
                self.assertEqual(header(msgs[0][1], "Bcc"), [], msgs[0][1])
                self.assertEqual(header(msgs[0][1], "To"), [b"v@a.test"])

    def test_root_may_use_any_sender(self):
        with pbtest.Server() as s:
            p = sendmail(s, ["-f", "someone@elsewhere.example", "v@a.test"])
            self.assertEqual(p.returncode, 0, p.stderr)
            paths = [header(m, "Return-Path")[0] for _, m in s.maildir_messages("v@a.test")]
            self.assertEqual(paths, [b"<someone@elsewhere.example>"])
            # The null sender, as sendmail -f '<>' (bounces, vacation replies).
            p = sendmail(s, ["-f", "<>", "v@a.test"])
            self.assertEqual(p.returncode, 0, p.stderr)
            paths = [header(m, "Return-Path")[0] for _, m in s.maildir_messages("v@a.test")]
            self.assertEqual(paths[-1], b"<>")

    def test_other_users_send_as_themselves_only(self):
        """As Postfix's postdrop: the calling Unix user decides; nobody
        may use nobody@ (a [server] domain), not v@."""
        # No [tls]: the CLI checks the whole configuration, and the test
        # key is root's.
        with pbtest.Server(users=["v@a.test", "nobody@a.test"], tls=False) as s:
            os.chmod(s.tmp, 0o711)
            os.chmod(s.conf, 0o644)
            p = sendmail(s, ["-f", "v@a.test", "v@a.test"], preexec_fn=as_nobody)
            self.assertEqual(p.returncode, EX_NOPERM, p.stderr)
            # One line, ours: the server's configuration warnings (no
            # [tls] here) are not the caller's business.
            lines = p.stderr.splitlines()
            self.assertEqual(len(lines), 1, p.stderr)
            self.assertTrue(lines[0].startswith(b"postbox sendmail: <v@a.test>: 553 5.7.1 "),
                            p.stderr)
            self.assertEqual(s.maildir_messages("v@a.test"), [])
            p = sendmail(s, ["-f", "nobody@a.test", "v@a.test"], preexec_fn=as_nobody)
            self.assertEqual(p.returncode, 0, p.stderr)
            m = s.maildir_messages("v@a.test")[0][1]
            uid = pwd.getpwnam("nobody").pw_uid
            self.assertTrue(header(m, "Received")[0].startswith(
                b"from localhost (uid %d nobody)" % uid), m)

    def test_remote_recipient_is_queued(self):
        """Recipients in other domains take submission's path: the
        outbound queue (the test's DNS is dead, so it stays there)."""
        with pbtest.Server() as s:
            p = sendmail(s, ["-f", "v@a.test", "far@remote.example"])
            self.assertEqual(p.returncode, 0, p.stderr)
            q = sendmail(s, ["-bp"])
            self.assertEqual(q.returncode, 0, q.stderr)
            self.assertIn(b"far@remote.example", q.stdout)

    def test_socket_and_directory_permissions(self):
        """Anyone may connect; nobody may list or read DATA or public/."""
        with pbtest.Server() as s:
            sock = os.path.join(s.data_dir, "public", "sendmail")
            st = os.stat(sock)
            self.assertTrue(stat.S_ISSOCK(st.st_mode))
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o666)
            self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(sock)).st_mode), 0o711)
            self.assertEqual(stat.S_IMODE(os.stat(s.data_dir).st_mode), 0o711)


if __name__ == "__main__":
    unittest.main()
