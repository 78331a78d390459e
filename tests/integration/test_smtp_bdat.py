"""SMTP MX CHUNKING (RFC 3030): BDAT chunks of various sizes, BDAT 0 LAST,
pipelined chunks, refused chunks consumed in sync, DATA/BDAT mixing."""

import unittest

import pbtest
from pbtest import split_trace, to_lf

MSG = (b"From: x@y.test\r\nTo: v@a.test\r\nSubject: chunked\r\n\r\n"
       + b"".join(b"line %04d of the chunked message body\r\n" % i for i in range(200))
       + b".\r\n..dots are not special in BDAT\r\n.\r\nlast\r\n")


def chunks(data, sizes):
    """Splits data into pieces of the given sizes, the remainder last."""
    out, i = [], 0
    for n in sizes:
        out.append(data[i:i + n])
        i += n
    out.append(data[i:])
    return out


class BdatCase(unittest.TestCase):
    limits = {"message_size": 100000}

    @classmethod
    def setUpClass(cls):
        cls.srv = pbtest.Server(users=["v@a.test"], limits=cls.limits).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    def count(self):
        return len(self.srv.maildir_messages("v@a.test"))

    def last_message(self):
        return split_trace(self.srv.maildir_messages("v@a.test")[-1][1])[2]

    def begin(self, c):
        c.ehlo()
        c.expect("MAIL FROM:<x@y.test>", 250)
        c.expect("RCPT TO:<v@a.test>", 250)


class TestBdat(BdatCase):
    def test_ehlo_offers_chunking(self):
        """RFC 3030 2: CHUNKING is advertised."""
        with self.srv.client() as c:
            self.assertIn("CHUNKING", c.ehlo().lines)

    def test_single_chunk_last(self):
        """RFC 3030 2: BDAT n LAST delivers; the data is taken literally
        (no dot-unstuffing), CRLF stored as LF."""
        with self.srv.client() as c:
            self.begin(c)
            c.send(b"BDAT %d LAST\r\n" % len(MSG) + MSG)
            r = c.reply()
            self.assertEqual((r.code, r.enhanced()), (250, "2.0.0"), r.raw)
        self.assertEqual(self.last_message(), to_lf(MSG))

    def test_chunks_of_various_sizes_then_bdat_0_last(self):
        """RFC 3030 2/4.1: chunks of 1, 2, 13, 100 and 4000 octets (splitting
        CRLF pairs), then BDAT 0 LAST; each chunk gets 250, the file is exact."""
        before = self.count()
        with self.srv.client() as c:
            self.begin(c)
            for piece in chunks(MSG, [1, 2, 13, 100, 4000]):
                c.send(b"BDAT %d\r\n" % len(piece) + piece)
                r = c.reply()
                self.assertEqual(r.code, 250, r.raw)
                self.assertEqual(r.enhanced(), "2.0.0", r.raw)
            r = c.cmd("BDAT 0 LAST")
            self.assertEqual(r.code, 250, r.raw)
            self.assertIn("queued", r.text)
            self.assertEqual(self.count(), before + 1)
        self.assertEqual(self.last_message(), to_lf(MSG))

    def test_crlf_split_across_chunks(self):
        """RFC 3030 2: a CR at the end of one chunk and its LF at the start
        of the next are one line end."""
        data = b"Subject: split\r\n\r\nab\r\ncd\r\n"
        cut = data.index(b"ab\r") + 3
        with self.srv.client() as c:
            self.begin(c)
            c.send(b"BDAT %d\r\n" % cut + data[:cut])
            self.assertEqual(c.reply().code, 250)
            rest = data[cut:]
            c.send(b"BDAT %d LAST\r\n" % len(rest) + rest)
            r = c.reply()
            self.assertEqual(r.code, 250, r.raw)
        self.assertEqual(self.last_message(), b"Subject: split\n\nab\ncd\n")

    def test_pipelined_chunks(self):
        """RFC 3030 4.2 with RFC 2920: all chunks in one send(); one reply
        per BDAT, in order."""
        pieces = chunks(MSG, [500, 1000, 3])
        data = b"".join(b"BDAT %d\r\n" % len(p) + p for p in pieces[:-1])
        data += b"BDAT %d LAST\r\n" % len(pieces[-1]) + pieces[-1] + b"NOOP\r\n"
        with self.srv.client() as c:
            c.ehlo()
            c.send(b"MAIL FROM:<x@y.test>\r\nRCPT TO:<v@a.test>\r\n" + data)
            rs = c.replies(2 + len(pieces) + 1)
            self.assertEqual([r.code for r in rs], [250] * (2 + len(pieces) + 1),
                             [r.raw for r in rs])
            self.assertIn("queued", rs[-2].text)
        self.assertEqual(self.last_message(), to_lf(MSG))

    def test_two_bdat_transactions(self):
        """RFC 3030: after BDAT LAST a new transaction may start."""
        before = self.count()
        with self.srv.client() as c:
            for i in range(2):
                if i == 0:
                    self.begin(c)
                else:
                    c.expect("MAIL FROM:<x@y.test>", 250)
                    c.expect("RCPT TO:<v@a.test>", 250)
                m = b"Subject: %d\r\n\r\nbody\r\n" % i
                c.send(b"BDAT %d LAST\r\n" % len(m) + m)
                self.assertEqual(c.reply().code, 250)
        self.assertEqual(self.count(), before + 2)

    def test_bdat_without_mail_consumes_chunk(self):
        """RFC 3030 2/4.2: BDAT without a transaction is refused (503) but
        its chunk is still read: commands inside it are never executed and
        the session stays in sync."""
        inner = b"RSET\r\nQUIT\r\n"
        with self.srv.client() as c:
            c.ehlo()
            c.send(b"BDAT %d LAST\r\n" % len(inner) + inner)
            r = c.reply()
            self.assertEqual(r.code, 503, r.raw)
            self.assertEqual(r.enhanced(), "5.5.1")
            c.no_more(0.5)
            self.assertEqual(c.cmd("NOOP").code, 250)

    def test_bdat_without_rcpt_consumes_chunk(self):
        """RFC 3030 2/4.2: BDAT after MAIL but with no accepted recipient is
        refused (503/554) and the chunk consumed; nothing is delivered."""
        inner = b"RSET\r\nMAIL FROM:<evil@x>\r\nQUIT\r\n"
        before = self.srv.all_delivered()
        with self.srv.client() as c:
            c.ehlo()
            c.expect("MAIL FROM:<x@y.test>", 250)
            self.assertEqual(c.cmd("RCPT TO:<nobody@a.test>").code, 550)
            c.send(b"BDAT %d\r\n" % len(inner) + inner)
            r = c.reply()
            self.assertIn(r.code, (503, 554), r.raw)
            self.assertEqual(r.enhanced()[0], "5")
            c.no_more(0.5)
            self.assertEqual(c.cmd("NOOP").code, 250)
            # and a real transaction works afterwards
            c.expect("RSET", 250)
            c.expect("MAIL FROM:<x@y.test>", 250)
            c.expect("RCPT TO:<v@a.test>", 250)
            c.send(b"BDAT 5 LAST\r\nhi\r\n.")
            self.assertEqual(c.reply().code, 250)
        after = self.srv.all_delivered()
        self.assertEqual(sum(after.values()) - sum(before.values()), 1)

    def test_data_after_bdat_503(self):
        """RFC 3030 2: DATA after BDAT in the same transaction is 503; the
        BDAT transaction can still be finished."""
        with self.srv.client() as c:
            self.begin(c)
            chunk = b"Subject: mix\r\n\r\nabc\r\n"
            c.send(b"BDAT %d\r\n" % len(chunk) + chunk)
            self.assertEqual(c.reply().code, 250)
            r = c.cmd("DATA")
            self.assertEqual((r.code, r.enhanced()), (503, "5.5.1"), r.raw)
            c.no_more(0.3)
            r = c.cmd("BDAT 0 LAST")
            self.assertEqual(r.code, 250, r.raw)
        self.assertEqual(self.last_message(), b"Subject: mix\n\nabc\n")

    def test_rset_between_chunks_aborts(self):
        """RFC 3030 2, RFC 5321 4.1.1.5: RSET between chunks discards the
        message; nothing is delivered and a new transaction starts clean."""
        before = self.count()
        with self.srv.client() as c:
            self.begin(c)
            c.send(b"BDAT 9\r\nSubject: ")
            self.assertEqual(c.reply().code, 250)
            c.expect("RSET", 250)
            r = c.cmd("BDAT 0 LAST")
            self.assertEqual(r.code, 503, r.raw)
            c.expect("MAIL FROM:<x@y.test>", 250)
            c.expect("RCPT TO:<v@a.test>", 250)
            m = b"Subject: 2\r\n\r\n"
            c.send(b"BDAT %d LAST\r\n" % len(m) + m)
            self.assertEqual(c.reply().code, 250)
        self.assertEqual(self.count(), before + 1)
        self.assertEqual(self.last_message(), b"Subject: 2\n\n")

    def test_binarymime_not_offered(self):
        """RFC 3030 3: BODY=BINARYMIME is only for servers offering
        BINARYMIME; it is refused (555), 7BIT and 8BITMIME are fine."""
        with self.srv.client() as c:
            c.ehlo()
            r = c.cmd("MAIL FROM:<x@y.test> BODY=BINARYMIME")
            self.assertEqual(r.code // 100, 5, r.raw)
            c.expect("MAIL FROM:<x@y.test> BODY=7BIT", 250)
            c.expect("RSET", 250)
            c.expect("MAIL FROM:<x@y.test> BODY=8BITMIME", 250)

    def test_bdat_syntax_errors(self):
        """RFC 3030 3: BDAT needs a decimal size; bad ones get 501 and the
        session stays in sync."""
        with self.srv.client() as c:
            self.begin(c)
            for bad in ("BDAT", "BDAT abc", "BDAT -1", "BDAT 10 NOTLAST", "BDAT 1x"):
                r = c.cmd(bad)
                self.assertEqual(r.code // 100, 5, "%s: %r" % (bad, r.raw))
            c.no_more(0.3)
            self.assertEqual(c.cmd("NOOP").code, 250)

    def test_bdat_oversize_552(self):
        """RFC 3030 4.2 / RFC 1870: a BDAT message over the size limit gets
        552 5.3.4; the chunk is consumed and nothing is delivered."""
        big = b"Subject: big\r\n\r\n" + b"x" * 150 + b"\r\n"
        big = big * 800
        self.assertGreater(len(big), 100000)
        before = self.count()
        with self.srv.client() as c:
            self.begin(c)
            c.send(b"BDAT %d LAST\r\n" % len(big) + big)
            r = c.reply()
            self.assertEqual((r.code, r.enhanced()), (552, "5.3.4"), r.raw)
            c.no_more(0.5)
            self.assertEqual(c.cmd("NOOP").code, 250)
            self.assertEqual(self.count(), before)
            # sync kept: a small message still goes through
            c.expect("MAIL FROM:<x@y.test>", 250)
            c.expect("RCPT TO:<v@a.test>", 250)
            c.send(b"BDAT 4 LAST\r\nok\r\n")
            self.assertEqual(c.reply().code, 250)
        self.assertEqual(self.count(), before + 1)

    def test_bdat_oversize_over_several_chunks(self):
        """RFC 3030 4.2: the limit applies to the sum of the chunks."""
        piece = b"y" * 998 + b"\r\n"
        before = self.count()
        with self.srv.client() as c:
            self.begin(c)
            codes = []
            for _ in range(120):
                c.send(b"BDAT %d\r\n" % len(piece) + piece)
                r = c.reply()
                codes.append(r.code)
                if r.code != 250:
                    break
            if codes[-1] == 250:
                r = c.cmd("BDAT 0 LAST")
            self.assertEqual((r.code, r.enhanced()), (552, "5.3.4"), r.raw)
            self.assertEqual(c.cmd("NOOP").code, 250)
        self.assertEqual(self.count(), before)


if __name__ == "__main__":
    unittest.main()
