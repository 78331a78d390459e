"""postbox serve binds its ports as root, then runs as [server] user
(DESIGN.md, "Configuration file"; issue 2, "root drops to [server] user
after binding")."""

import os
import pwd
import smtplib
import unittest

import pbtest


def uids_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return [int(x) for x in line.split()[1:]]
    raise AssertionError("no Uid line")


@unittest.skipUnless(os.geteuid() == 0, "needs root to drop privileges")
class TestPrivilegeDrop(unittest.TestCase):
    def test_runs_as_configured_user_and_delivers(self):
        nobody = pwd.getpwnam("nobody")
        srv = pbtest.Server(users=["v@a.test"], extra="\n[server]\nuser = nobody\n",
                            start=False)
        with srv:
            # The unprivileged server must be able to reach its data.
            os.chmod(srv.tmp, 0o755)
            srv.start()
            # Real, effective, saved and file-system uid: no way back to root.
            self.assertEqual(uids_of(srv.proc.pid), [nobody.pw_uid] * 4)
            with smtplib.SMTP("127.0.0.1", srv.port, timeout=10) as s:
                s.sendmail("x@c.test", ["v@a.test"], b"Subject: one\r\n\r\nhi\r\n")
            [(name, _)] = srv.maildir_messages("v@a.test")
            st = os.stat(os.path.join(srv.maildir("v@a.test"), "new", name))
            self.assertEqual(st.st_uid, nobody.pw_uid)
            # A user added by root while the server runs is deliverable.
            srv.add_user("w@a.test")
            with smtplib.SMTP("127.0.0.1", srv.port, timeout=10) as s:
                s.sendmail("x@c.test", ["w@a.test"], b"Subject: two\r\n\r\nhi\r\n")
            self.assertEqual(len(srv.maildir_messages("w@a.test")), 1)
            self.assertIn("running as user nobody", srv.log_text())


if __name__ == "__main__":
    unittest.main()
