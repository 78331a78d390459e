"""postbox sendmail: the sendmail(1) command of programs on the server
(cron, mail(1), scripts), issue 8. Its command line and exit codes
(sysexits.h) are what those callers test; mail goes through the running
daemon's local socket."""

import os
import subprocess
import tempfile
import unittest

import pbtest

EX_USAGE, EX_TEMPFAIL, EX_CONFIG = 64, 75, 78


def sendmail(server, args, data=b"Subject: t\n\nbody\n", argv0=None, conf=None):
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
                              timeout=60)
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


if __name__ == "__main__":
    unittest.main()
