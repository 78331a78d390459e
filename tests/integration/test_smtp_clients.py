"""SMTP MX with clients nobody here wrote: swaks and curl deliver messages
that arrive intact (plaintext and, for curl, STARTTLS with verification)."""

import os
import shutil
import subprocess
import tempfile
import unittest

import pbtest
from pbtest import HOSTNAME, split_trace, to_lf

MESSAGE = (b"From: Tool <x@y.test>\r\n"
           b"To: v@a.test\r\n"
           b"Subject: from an outside client\r\n"
           b"Message-ID: <tool-1@y.test>\r\n"
           b"\r\n"
           b"first line\r\n"
           b".a line with a leading dot\r\n"
           b"..two dots\r\n"
           b"\r\n"
           b"\xc3\xa9t\xc3\xa9 in UTF-8\r\n"
           b"last line\r\n")


def swaks_sent_data(transcript):
    """The DATA swaks put on the wire, from its own transcript (" -> "
    lines between the 354 and the final dot), still dot-stuffed, CRLF."""
    sent, inside = [], False
    for line in transcript.split("\n"):
        if line.startswith("<-  354"):
            inside = True
        elif inside and line.startswith(" -> "):
            text = line[4:]
            if text == ".":
                return "".join(sent).encode("utf-8", "surrogateescape")
            sent.append(text + "\n")
    raise AssertionError("no DATA section in the swaks transcript:\n" + transcript)


def unstuff(wire):
    """RFC 5321 4.5.2 receiver side, and CRLF -> LF as in the Maildir."""
    lines = wire.split(b"\r\n")
    return b"\n".join(l[1:] if l.startswith(b".") else l for l in lines)


def need(tool):
    if shutil.which(tool) is None:
        raise unittest.SkipTest("%s is not installed (scripts/deps installs it)" % tool)


class ClientCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = pbtest.Server(users=["v@a.test", "w@a.test"]).__enter__()
        cls.tmp = tempfile.mkdtemp(prefix="pbtest-clients-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        cls.srv.__exit__(None, None, None)

    def run_tool(self, argv):
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        self.assertEqual(p.returncode, 0, "%s failed (%d):\n%s\nserver log:\n%s"
                         % (argv[0], p.returncode, p.stdout.decode(errors="replace"),
                            self.srv.log_tail()))
        return p.stdout.decode(errors="replace")

    def new_messages(self, address, before):
        msgs = self.srv.maildir_messages(address)
        self.assertEqual(len(msgs), before + 1, self.srv.all_delivered())
        return msgs[-1][1]


class TestSwaks(ClientCase):
    def test_swaks_body(self):
        """RFC 5321: swaks with --body delivers; the body arrives intact."""
        need("swaks")
        before = len(self.srv.maildir_messages("v@a.test"))
        out = self.run_tool(["swaks", "--server", "127.0.0.1:%d" % self.srv.port,
                       "--helo", "swaks.client.test", "--to", "v@a.test", "--from", "x@y.test",
                       "--body", "hello from swaks\n.dotted line\nend"])
        content = self.new_messages("v@a.test", before)
        rp, received, rest = split_trace(content)
        self.assertEqual(rp, "Return-Path: <x@y.test>")
        self.assertIn("swaks.client.test", received)
        self.assertRegex(received, r"\bwith ESMTP\b")
        # exactly what swaks sent (it adds an empty last line of its own)
        self.assertEqual(rest, unstuff(swaks_sent_data(out)))
        self.assertIn(b"\n\nhello from swaks\n.dotted line\nend\n", rest)
        self.assertIn(b"\nX-Mailer: swaks", b"\n" + rest)

    def test_swaks_data_file_byte_exact(self):
        """RFC 5321 4.5.2: swaks --data FILE (stuffed by swaks) arrives
        byte-exact as swaks sent it, two recipients get one copy each."""
        need("swaks")
        path = os.path.join(self.tmp, "swaks.eml")
        with open(path, "wb") as f:
            f.write(MESSAGE.replace(b"\r\n", b"\n"))
        bv = len(self.srv.maildir_messages("v@a.test"))
        bw = len(self.srv.maildir_messages("w@a.test"))
        out = self.run_tool(["swaks", "--server", "127.0.0.1:%d" % self.srv.port,
                             "--to", "v@a.test,w@a.test", "--from", "x@y.test",
                             "--data", "@" + path])
        wire = swaks_sent_data(out)
        self.assertIn(b"\r\n..a line with a leading dot\r\n", wire)  # swaks stuffed it
        for addr, before in (("v@a.test", bv), ("w@a.test", bw)):
            rest = split_trace(self.new_messages(addr, before))[2]
            self.assertEqual(rest, unstuff(wire))
            # the file as written, plus the empty line swaks adds at the end
            self.assertTrue(rest.startswith(to_lf(MESSAGE)), rest)

    def test_swaks_unknown_recipient(self):
        """RFC 5321 4.2.2: swaks sees the 550 5.1.1 for an unknown user."""
        need("swaks")
        p = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % self.srv.port,
                            "--to", "nobody@a.test", "--from", "x@y.test"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        out = p.stdout.decode(errors="replace")
        self.assertNotEqual(p.returncode, 0, out)
        self.assertIn("550 5.1.1", out)


class TestCurl(ClientCase):
    def curl_file(self):
        path = os.path.join(self.tmp, "curl.eml")
        with open(path, "wb") as f:
            f.write(MESSAGE)
        return path

    def test_curl_upload(self):
        """RFC 5321: curl smtp:// --upload-file delivers the file byte-exact
        (curl stuffs the leading dots, postbox unstuffs)."""
        need("curl")
        before = len(self.srv.maildir_messages("v@a.test"))
        self.run_tool(["curl", "-sS", "--max-time", "30",
                       "smtp://127.0.0.1:%d/curl.client.test" % self.srv.port,
                       "--mail-from", "x@y.test", "--mail-rcpt", "v@a.test",
                       "--upload-file", self.curl_file()])
        rp, received, rest = split_trace(self.new_messages("v@a.test", before))
        self.assertEqual(rp, "Return-Path: <x@y.test>")
        self.assertIn("curl.client.test", received)
        self.assertEqual(rest, to_lf(MESSAGE))

    def test_curl_starttls_verified(self):
        """RFC 3207: curl --ssl-reqd verifies the certificate for mx.a.test,
        delivers over STARTTLS; Received says ESMTPS."""
        need("curl")
        cert, _ = pbtest.cert_files()
        before = len(self.srv.maildir_messages("v@a.test"))
        self.run_tool(["curl", "-sS", "--max-time", "30", "--ssl-reqd", "--cacert", cert,
                       "--resolve", "%s:%d:127.0.0.1" % (HOSTNAME, self.srv.port),
                       "smtp://%s:%d/curl.client.test" % (HOSTNAME, self.srv.port),
                       "--mail-from", "x@y.test", "--mail-rcpt", "v@a.test",
                       "--upload-file", self.curl_file()])
        _, received, rest = split_trace(self.new_messages("v@a.test", before))
        self.assertRegex(received, r"\bwith ESMTPS\b")
        self.assertEqual(rest, to_lf(MESSAGE))

    def test_curl_relay_refused(self):
        """DESIGN.md: the MX never relays; curl fails on the 554 5.7.1."""
        need("curl")
        p = subprocess.run(["curl", "-sS", "--max-time", "30",
                            "smtp://127.0.0.1:%d/curl.client.test" % self.srv.port,
                            "--mail-from", "x@y.test", "--mail-rcpt", "v@c.test",
                            "--upload-file", self.curl_file()],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("554", p.stdout.decode(errors="replace"))
        self.assertEqual({k: v for k, v in self.srv.all_delivered().items()
                          if not k.startswith("a.test/")}, {})


if __name__ == "__main__":
    unittest.main()
