"""Real IMAP clients nobody here wrote, against a real postbox serve: curl
(libcurl's IMAP: LIST, SELECT, UID FETCH, FETCH, SEARCH, APPEND), mbsync
(isync: a two-way sync of every folder with a local Maildir) and fetchmail
(download and delete over IMAP). Mail arrives over SMTP first, as it would
in real life."""

import glob
import imaplib
import os
import shutil
import smtplib
import ssl
import subprocess
import tempfile
import unittest

import pbtest

PW = pbtest.PASSWORD
USER = "v@a.test"


def deliver(srv, rcpt, subject, body="hello\r\n"):
    msg = "From: x@c.test\r\nTo: %s\r\nSubject: %s\r\n\r\n%s" % (rcpt, subject, body)
    with smtplib.SMTP("127.0.0.1", srv.port, timeout=10) as s:
        s.sendmail("x@c.test", [rcpt], msg.encode())
    return msg.encode()


def read(path):
    with open(path, "rb") as f:
        return f.read()


def have(tool):
    return shutil.which(tool) is not None


class ClientCase(unittest.TestCase):
    # mbsync checks the host name itself, against the names in the
    # certificate: it gets one made out to "127.0.0.1".
    cert_for_ip = False

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="pbtest-imapc-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.srv = pbtest.Server(users=[USER, "w@a.test"], services=["imap", "imaps"],
                                 start=False)
        self.srv.__enter__()
        self.addCleanup(self.srv.__exit__, None, None, None)
        if self.cert_for_ip:
            self.srv.cert, self.srv.key = pbtest.make_cert(self.tmp, "ip", cn="127.0.0.1")
            self.srv.write_config()
        self.srv.start()
        self.cert = self.srv.cert or pbtest.cert_files()[0]

    def imaps(self):
        # 127.0.0.1 is not a name in the certificate: check the chain only.
        ctx = ssl.create_default_context(cafile=self.cert)
        ctx.check_hostname = False
        m = imaplib.IMAP4_SSL("127.0.0.1", self.srv.ports["imaps"], ssl_context=ctx,
                              timeout=10)
        m.login(USER, PW)
        return m

    def server_inbox(self):
        """[(uid, flags, subject)] of the server's INBOX, via imaplib."""
        m = self.imaps()
        try:
            m.select("INBOX", readonly=True)
            typ, data = m.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            out = []
            for item in data:
                if not isinstance(item, tuple):
                    continue
                head = item[0].decode()
                uid = int(head.split("UID ")[1].split()[0])
                flags = head.split("FLAGS (")[1].split(")")[0].split()
                subj = item[1].decode().strip().replace("Subject: ", "")
                out.append((uid, sorted(flags), subj))
            m.logout()
            return sorted(out)
        finally:
            try:
                m.shutdown()
            except OSError:
                pass


class TestCurl(ClientCase):
    def curl(self, path, *extra):
        port = self.srv.ports["imaps"]
        cmd = ["curl", "-s", "-S", "--cacert", self.cert, "--user", USER + ":" + PW,
               "--resolve", "%s:%d:127.0.0.1" % (pbtest.HOSTNAME, port),
               "imaps://%s:%d/%s" % (pbtest.HOSTNAME, port, path)] + list(extra)
        out = subprocess.run(cmd, capture_output=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout

    @unittest.skipUnless(have("curl"), "curl not installed")
    def test_curl_lists_mailboxes(self):
        """curl imaps://host/ sends LIST "" * (RFC 9051 6.3.9): INBOX and
        the SPECIAL-USE folders (RFC 6154) of a new user."""
        out = self.curl("")
        self.assertIn(b'* LIST (\\HasNoChildren) "/" "INBOX"', out)
        for name, use in (("Sent", "\\Sent"), ("Drafts", "\\Drafts"), ("Trash", "\\Trash"),
                          ("Junk", "\\Junk"), ("Archive", "\\Archive")):
            self.assertRegex(out, rb'\* LIST \([^)]*' + use.encode().replace(b"\\", b"\\\\")
                             + rb'[^)]*\) "/" "' + name.encode() + b'"')

    @unittest.skipUnless(have("curl"), "curl not installed")
    def test_curl_fetches_by_uid_and_index(self):
        """curl imaps://host/INBOX;UID=n (SELECT, UID FETCH n BODY[]) and
        ;MAILINDEX=n (FETCH n BODY[]) get the message byte-exact with CRLF
        line ends (RFC 9051 6.4.5, 7.5.2 BODY[])."""
        one = deliver(self.srv, USER, "one")
        two = deliver(self.srv, USER, "two", body="line\r\n.dot\r\n")
        got1 = self.curl("INBOX;UID=1")
        self.assertTrue(got1.startswith(b"Return-Path: <x@c.test>\r\n"), got1)
        self.assertTrue(got1.endswith(one), got1)
        got2 = self.curl("INBOX;MAILINDEX=2")
        self.assertTrue(got2.endswith(two), got2)
        self.assertEqual(got1.count(b"\n"), got1.count(b"\r\n"))
        # Fetching BODY[] set \Seen (RFC 9051 6.4.5).
        flags = {uid: f for uid, f, _ in self.server_inbox()}
        self.assertEqual(flags, {1: ["\\Seen"], 2: ["\\Seen"]})

    @unittest.skipUnless(have("curl"), "curl not installed")
    def test_curl_search_and_section(self):
        """curl imaps://host/INBOX?SUBJECT%20two sends SEARCH (RFC 9051
        6.4.4); ;SECTION=HEADER.FIELDS (SUBJECT) a partial fetch."""
        deliver(self.srv, USER, "one")
        deliver(self.srv, USER, "two")
        self.assertEqual(self.curl("INBOX?SUBJECT%20two").strip(), b"* SEARCH 2")
        self.assertEqual(self.curl("INBOX?ALL").strip(), b"* SEARCH 1 2")
        out = self.curl("INBOX;UID=2;SECTION=HEADER.FIELDS%20(SUBJECT)")
        self.assertEqual(out, b"Subject: two\r\n\r\n")

    @unittest.skipUnless(have("curl"), "curl not installed")
    def test_curl_appends(self):
        """curl -T FILE imaps://host/Drafts sends APPEND with a literal
        (RFC 9051 6.3.12); the message is there, byte for byte."""
        path = os.path.join(self.tmp, "draft.eml")
        body = b"From: v@a.test\r\nTo: w@a.test\r\nSubject: draft\r\n\r\ntext\r\n"
        with open(path, "wb") as f:
            f.write(body)
        self.curl("Drafts", "-T", path)
        got = self.curl("Drafts;UID=1")
        self.assertEqual(got, body)


MBSYNCRC = """IMAPAccount pb
Host 127.0.0.1
Port {port}
User {user}
Pass {pw}
SSLType IMAPS
CertificateFile {cert}

IMAPStore remote
Account pb

MaildirStore local
Path {root}/
Inbox {root}/INBOX
SubFolders Verbatim

Channel all
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
Sync All
"""


class TestMbsync(ClientCase):
    cert_for_ip = True

    def setUp(self):
        super().setUp()
        self.root = os.path.join(self.tmp, "mail")
        os.makedirs(self.root)
        self.rc = os.path.join(self.tmp, "mbsyncrc")
        with open(self.rc, "w") as f:
            f.write(MBSYNCRC.format(port=self.srv.ports["imaps"], user=USER, pw=PW,
                                    cert=self.cert, root=self.root))

    def mbsync(self):
        env = dict(os.environ, HOME=self.tmp)
        out = subprocess.run(["mbsync", "-c", self.rc, "-a"], capture_output=True, timeout=120,
                             env=env)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr + b"\n" +
                         self.srv.log_tail(40).encode())
        return out

    def local(self, folder="INBOX"):
        """{subject: maildir flags} of a local folder."""
        out = {}
        for sub in ("new", "cur"):
            for path in glob.glob(os.path.join(self.root, folder, sub, "*")):
                data = read(path)
                subj = [l for l in data.split(b"\n") if l.startswith(b"Subject: ")]
                flags = path.rsplit(":2,", 1)[1] if ":2," in path else ""
                out[subj[0][9:].strip().decode()] = flags
        return out

    @unittest.skipUnless(have("mbsync"), "mbsync (isync) not installed")
    def test_mbsync_two_way(self):
        """mbsync (isync) with Sync All, Create Both, Expunge Both: the
        server's folders and mail come down (LIST, SELECT, UID FETCH);
        a local new message goes up (APPEND with UIDPLUS, RFC 4315); a
        flag set locally reaches the server (UID STORE) and one set on the
        server comes down; a message expunged on the server goes away
        locally; a second run with nothing new changes nothing."""
        deliver(self.srv, USER, "one")
        deliver(self.srv, USER, "two")
        self.mbsync()
        for folder in ("Sent", "Drafts", "Trash", "Junk", "Archive"):
            self.assertTrue(os.path.isdir(os.path.join(self.root, folder, "cur")), folder)
        self.assertEqual(set(self.local()), {"one", "two"})

        # Up: a new local message, and "one" marked seen and flagged locally.
        newmsg = os.path.join(self.root, "INBOX", "new", "1700000000.local1.host")
        with open(newmsg, "wb") as f:
            f.write(b"From: v@a.test\nTo: w@a.test\nSubject: local\n\nwritten offline\n")
        for path in glob.glob(os.path.join(self.root, "INBOX", "*", "*")):
            if b"Subject: one" in read(path):
                base = path.rsplit(":2,", 1)[0]
                dest = os.path.join(self.root, "INBOX", "cur", os.path.basename(base) + ":2,FS")
                os.rename(path, dest)
        self.mbsync()
        server = {s: f for _, f, s in self.server_inbox()}
        self.assertEqual(set(server), {"one", "two", "local"})
        self.assertEqual(server["one"], ["\\Flagged", "\\Seen"])
        self.assertNotIn("\\Seen", server["two"])

        # Down: "two" answered and "one" expunged on the server, a new
        # delivery.
        m = self.imaps()
        m.select("INBOX")
        typ, data = m.search(None, "SUBJECT", "two")
        m.store(data[0].decode(), "+FLAGS", "(\\Answered)")
        typ, data = m.search(None, "SUBJECT", "one")
        m.store(data[0].decode(), "+FLAGS", "(\\Deleted)")
        m.expunge()
        m.logout()
        deliver(self.srv, USER, "three")
        self.mbsync()
        local = self.local()
        self.assertEqual(set(local), {"two", "local", "three"})
        self.assertIn("R", local["two"])

        # Nothing new: nothing changes on either side.
        before = (self.server_inbox(), self.local())
        self.mbsync()
        self.assertEqual((self.server_inbox(), self.local()), before)

    @unittest.skipUnless(have("mbsync"), "mbsync (isync) not installed")
    def test_mbsync_folders_both_ways(self):
        """mbsync Create Both: a folder made locally is created on the
        server (CREATE, RFC 9051 6.3.4) with its mail (APPEND, 6.3.12);
        one made on the server (CREATE, APPEND by imaplib) comes down with
        its message and its \\Seen flag."""
        self.mbsync()
        os.makedirs(os.path.join(self.root, "Projects", "new"))
        os.makedirs(os.path.join(self.root, "Projects", "cur"))
        os.makedirs(os.path.join(self.root, "Projects", "tmp"))
        with open(os.path.join(self.root, "Projects", "new", "1700000001.p1.host"), "wb") as f:
            f.write(b"Subject: plan\n\nthe plan\n")
        m = self.imaps()
        m.create("Remote")
        m.append("Remote", "(\\Seen)", None, b"Subject: far\r\n\r\nfrom the server\r\n")
        m.logout()
        self.mbsync()
        self.assertEqual(self.local("Remote"), {"far": "S"})
        m = self.imaps()
        typ, data = m.list()
        self.assertTrue(any(b'"Projects"' in l for l in data), data)
        typ, data = m.select("Projects", readonly=True)
        self.assertEqual(data, [b"1"])
        typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertIn(b"Subject: plan", data[0][1])
        m.logout()


class TestFetchmail(ClientCase):
    @unittest.skipUnless(have("fetchmail"), "fetchmail not installed")
    def test_fetchmail_downloads_over_imap(self):
        """fetchmail over IMAPS: logs in, SELECTs INBOX, fetches every
        message (RFC 9051 6.4.5) into its MDA and, without --keep, marks
        them \\Deleted and expunges them (RFC 9051 6.4.3)."""
        sent = [deliver(self.srv, USER, s) for s in ("f1", "f2", "f3")]
        mbox = os.path.join(self.tmp, "mbox")
        rc = os.path.join(self.tmp, "fetchmailrc")
        with open(rc, "w") as f:
            f.write('poll 127.0.0.1 proto imap port %d\n'
                    '  user "%s" password "%s"\n'
                    '  ssl sslcertck sslcertfile %s sslcommonname %s\n'
                    '  mda "/bin/sh -c \'cat >> %s\'"\n'
                    % (self.srv.ports["imaps"], USER, PW, self.cert, pbtest.HOSTNAME, mbox))
        os.chmod(rc, 0o600)
        env = dict(os.environ, HOME=self.tmp, FETCHMAILHOME=self.tmp)
        out = subprocess.run(["fetchmail", "-f", rc, "--nodetach", "-v"], env=env,
                             capture_output=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        data = read(mbox)
        for s in ("f1", "f2", "f3"):
            self.assertIn(b"Subject: " + s.encode(), data)
        self.assertIn(sent[0].replace(b"\r\n", b"\n"), data)
        self.assertEqual(self.server_inbox(), [])

    @unittest.skipUnless(have("fetchmail"), "fetchmail not installed")
    def test_fetchmail_keep_over_starttls(self):
        """fetchmail over the plaintext port with STARTTLS required
        (sslproto tls1.2+, RFC 9051 6.2.1) and keep: it fetches only what
        is new to it, leaves the mail on the server and marks it \\Seen
        (RFC 9051 6.4.5)."""
        deliver(self.srv, USER, "k1")
        mbox = os.path.join(self.tmp, "mbox")
        rc = os.path.join(self.tmp, "fetchmailrc")
        with open(rc, "w") as f:
            f.write('poll 127.0.0.1 proto imap port %d\n'
                    '  user "%s" password "%s"\n'
                    '  sslproto tls1.2+ sslcertck sslcertfile %s sslcommonname %s keep\n'
                    '  mda "/bin/sh -c \'cat >> %s\'"\n'
                    % (self.srv.ports["imap"], USER, PW, self.cert, pbtest.HOSTNAME, mbox))
        os.chmod(rc, 0o600)
        env = dict(os.environ, HOME=self.tmp, FETCHMAILHOME=self.tmp)
        for _ in range(2):
            out = subprocess.run(["fetchmail", "-f", rc, "--nodetach", "-v"], env=env,
                                 capture_output=True, timeout=60)
            self.assertIn(out.returncode, (0, 1), out.stdout + out.stderr)  # 1: no mail
        self.assertIn(b"STARTTLS", out.stdout + out.stderr)
        data = read(mbox)
        self.assertEqual(data.count(b"Subject: k1"), 1)
        self.assertEqual([(f, s) for _, f, s in self.server_inbox()], [(["\\Seen"], "k1")])


if __name__ == "__main__":
    unittest.main()
