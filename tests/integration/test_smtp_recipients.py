"""SMTP MX recipients: local users, aliases, +detail, catch-all, unknown
users, relay denial and the relay-safety cases (percent hack, bang path,
quoted local parts, address literals, look-alike domains, source routes)."""

import os
import unittest

import pbtest
from pbtest import split_trace

BODY = b"Subject: rcpt test\r\n\r\nhello\r\n"


class RcptCase(unittest.TestCase):
    """A server with v@a.test, w@a.test, v@b.test and u@b.test (so that a
    message wrongly routed to b.test would land somewhere we can see),
    no catch-all in a.test."""

    users = ["v@a.test", "w@a.test", "v@b.test", "u@b.test"]
    aliases = {}

    @classmethod
    def setUpClass(cls):
        cls.srv = pbtest.Server(users=cls.users, aliases=cls.aliases).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    def rcpt(self, address, c=None):
        """The reply to RCPT TO:<address> in a fresh transaction."""
        own = c is None
        if own:
            c = self.srv.client()
            c.ehlo()
        try:
            c.expect("MAIL FROM:<x@y.test>", 250)
            return c.cmd(b"RCPT TO:<" + (address.encode() if isinstance(address, str)
                                          else address) + b">")
        finally:
            if own:
                c.close()

    def deliver(self, rcpts, body=BODY):
        """Sends one message; returns (reply to the dot, {maildir: count}
        difference)."""
        before = self.srv.all_delivered()
        with self.srv.client() as c:
            r = c.send_message("x@y.test", rcpts, body)
            c.expect("QUIT", 221)
        after = self.srv.all_delivered()
        diff = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
        return r, diff

    def assert_never_delivered(self, raw_rcpt, allowed=()):
        """Tries a whole transaction to raw_rcpt and checks nothing landed
        outside the `allowed` maildirs ("a.test/v/new")."""
        before = self.srv.all_delivered()
        with self.srv.client() as c:
            c.ehlo()
            c.expect("MAIL FROM:<x@y.test>", 250)
            r = c.cmd(b"RCPT TO:<" + raw_rcpt.encode() + b">")
            if r.code == 250:
                c.expect("DATA", 354)
                c.send(BODY + b".\r\n")
                c.reply()
            c.expect("QUIT", 221)
        after = self.srv.all_delivered()
        diff = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
        for k in diff:
            self.assertIn(k, allowed, "RCPT TO:<%s> delivered into %s" % (raw_rcpt, k))
        return r


class TestLocalRecipients(RcptCase):
    aliases = {"list@a.test": ["v@a.test", "w@a.test"], "same@a.test": ["v@a.test"],
               "chain@a.test": ["list@a.test"]}

    def test_user_accepted(self):
        """RFC 5321 4.1.1.3: RCPT for a local user gets 250 2.1.5."""
        r = self.rcpt("v@a.test")
        self.assertEqual(r.code, 250, r.raw)
        self.assertEqual(r.enhanced(), "2.1.5")

    def test_domain_case_insensitive(self):
        """RFC 5321 2.4: domain names are case-insensitive."""
        r, diff = self.deliver(["v@A.TEST"])
        self.assertEqual(r.code, 250, r.raw)
        self.assertEqual(diff, {"a.test/v/new": 1})

    def test_unknown_user_550_511(self):
        """RFC 5321 4.2.2 / RFC 3463 5.1.1: unknown local user rejected at RCPT."""
        r = self.rcpt("nobody@a.test")
        self.assertEqual(r.code, 550, r.raw)
        self.assertEqual(r.enhanced(), "5.1.1")
        r = self.rcpt("nobody+tag@a.test")
        self.assertEqual((r.code, r.enhanced()), (550, "5.1.1"), r.raw)

    def test_unknown_then_known_in_same_transaction(self):
        """RFC 5321 3.3: a refused RCPT does not end the transaction."""
        with self.srv.client() as c:
            c.ehlo()
            c.expect("MAIL FROM:<x@y.test>", 250)
            self.assertEqual(c.cmd("RCPT TO:<nobody@a.test>").code, 550)
            c.expect("RCPT TO:<w@a.test>", 250)
            c.expect("DATA", 354)
            c.send(BODY + b".\r\n")
            self.assertEqual(c.reply().code, 250)

    def test_data_without_valid_rcpt(self):
        """RFC 5321 3.3: DATA with no accepted recipient gets 503 (or 554)."""
        with self.srv.client() as c:
            c.ehlo()
            c.expect("MAIL FROM:<x@y.test>", 250)
            self.assertEqual(c.cmd("RCPT TO:<nobody@a.test>").code, 550)
            r = c.cmd("DATA")
            self.assertIn(r.code, (503, 554), r.raw)
            self.assertEqual(c.cmd("NOOP").code, 250)

    def test_plus_detail(self):
        """Issue 2: user+detail@ is delivered into user's Maildir."""
        r, diff = self.deliver(["v+news@a.test"])
        self.assertEqual(r.code, 250, r.raw)
        self.assertEqual(diff, {"a.test/v/new": 1})

    def test_alias_to_local_targets(self):
        """Issue 2: an alias delivers once into each target's Maildir."""
        r, diff = self.deliver(["list@a.test"])
        self.assertEqual(r.code, 250, r.raw)
        self.assertEqual(diff, {"a.test/v/new": 1, "a.test/w/new": 1})

    def test_alias_of_alias(self):
        """Issue 2: aliases resolve recursively."""
        r, diff = self.deliver(["chain@a.test"])
        self.assertEqual(r.code, 250, r.raw)
        self.assertEqual(diff, {"a.test/v/new": 1, "a.test/w/new": 1})

    def test_alias_plus_detail(self):
        """Issue 2: +detail applies to aliases too."""
        r, diff = self.deliver(["list+x@a.test"])
        self.assertEqual(r.code, 250, r.raw)
        self.assertEqual(diff, {"a.test/v/new": 1, "a.test/w/new": 1})

    def test_several_recipients_once_each(self):
        """Issue 2: one message to several recipients lands once per
        recipient, across domains, each copy byte-identical after the
        trace fields."""
        r, diff = self.deliver(["v@a.test", "w@a.test", "u@b.test"])
        self.assertEqual(r.code, 250, r.raw)
        self.assertEqual(diff, {"a.test/v/new": 1, "a.test/w/new": 1, "b.test/u/new": 1})
        bodies = {split_trace(self.srv.maildir_messages(a)[-1][1])[2]
                  for a in ("w@a.test", "u@b.test")}
        self.assertEqual(bodies, {pbtest.to_lf(BODY)})

    def test_same_mailbox_twice_once(self):
        """Issue 2: two recipients resolving to the same mailbox (directly,
        via an alias, via +detail) give one copy."""
        r, diff = self.deliver(["v@a.test", "same@a.test", "v+x@a.test"])
        self.assertEqual(r.code, 250, r.raw)
        self.assertEqual(diff, {"a.test/v/new": 1})

    def test_received_names_single_recipient(self):
        """RFC 5321 4.4: the Received: "for" clause names the recipient when
        there is exactly one."""
        with self.srv.client() as c:
            r = c.send_message("x@y.test", ["w@a.test"], b"Subject: for\r\n\r\nfor test\r\n")
            self.assertEqual(r.code, 250)
        content = self.srv.maildir_messages("w@a.test")[-1][1]
        _, received, _ = split_trace(content)
        self.assertIn("for <w@a.test>", received)

    def test_remote_alias_target_is_queued(self):
        """Issue 8: an alias to an address elsewhere takes the mail on port
        25 (it is ours) and queues it for the remote target, beside the
        local target's copy."""
        self.srv.cli("alias", "add", "fwd@a.test", "someone@c.test", "w@a.test")
        with self.srv.client() as c:
            r = c.send_message("x@y.test", ["fwd@a.test"], b"Subject: fwd\r\n\r\nfwd\r\n")
            self.assertEqual(r.code, 250)
        self.assertTrue(any(b"Subject: fwd" in m for _, m in self.srv.maildir_messages("w@a.test")))
        listing = self.srv.cli("queue", "list").stdout.decode()
        self.assertIn("someone@c.test", listing)
        self.assertIn("x@y.test", listing)


class TestRelayDenied(RcptCase):
    def test_non_local_domain_554_571(self):
        """Issue 2, DESIGN.md: the MX role never relays (554 5.7.1)."""
        r = self.rcpt("v@c.test")
        self.assertEqual(r.code, 554, r.raw)
        self.assertEqual(r.enhanced(), "5.7.1")

    def test_address_literal_denied(self):
        """RFC 5321 4.1.3: address literals are never a local domain here."""
        for lit in ("v@[127.0.0.1]", "v@[IPv6:::1]", "postmaster@[127.0.0.1]"):
            r = self.rcpt(lit)
            self.assertIn(r.code, (554, 550, 501), "%s: %r" % (lit, r.raw))
            self.assertEqual(r.code // 100, 5, r.raw)

    def test_look_alike_domains(self):
        """Issue 2: only an exact local domain is local (no suffix/prefix match)."""
        for dom in ("a.test.evil", "xa.test", "a.tes", "sub.a.test", "a-test", "b.test.a.test"):
            r = self.rcpt("v@" + dom)
            self.assertEqual((r.code, r.enhanced()), (554, "5.7.1"), "%s: %r" % (dom, r.raw))
        r = self.rcpt("v@a.test.")
        self.assertEqual(r.code // 100, 5, "trailing dot: %r" % r.raw)

    def test_percent_hack(self):
        """RFC 5321 3.6.1/Issue 2: v%b.test@a.test is a local part in a.test,
        never routed to b.test."""
        for rcpt in ("v%b.test@a.test", "v%c.test@a.test", "u%b.test@a.test"):
            r = self.assert_never_delivered(rcpt)
            self.assertEqual((r.code, r.enhanced()), (550, "5.1.1"), "%s: %r" % (rcpt, r.raw))

    def test_bang_path(self):
        """RFC 5321 3.6.1/Issue 2: b.test!v@a.test is never a UUCP route."""
        for rcpt in ("b.test!v@a.test", "c.test!v@a.test"):
            r = self.assert_never_delivered(rcpt)
            self.assertEqual((r.code, r.enhanced()), (550, "5.1.1"), "%s: %r" % (rcpt, r.raw))

    def test_quoted_local_part_with_at(self):
        """RFC 5321 4.1.2/Issue 2: "v@b.test"@a.test is a local part in a.test."""
        for rcpt in ('"v@b.test"@a.test', '"v@c.test"@a.test', '"u%b.test"@a.test'):
            r = self.assert_never_delivered(rcpt)
            self.assertEqual(r.code // 100, 5, "%s: %r" % (rcpt, r.raw))

    def test_quoted_local_part_of_existing_user(self):
        """RFC 5321 4.1.2: "v"@a.test is the same mailbox as v@a.test."""
        r = self.assert_never_delivered('"v"@a.test', allowed=("a.test/v/new",))
        self.assertEqual(r.code, 250, r.raw)

    def test_source_route_accepted_route_ignored(self):
        """RFC 5321 4.1.1.3, App. C: <@x.test,@y.test:v@a.test> is accepted
        and delivered to v@a.test; the route is not followed."""
        before = self.srv.all_delivered()
        with self.srv.client() as c:
            c.ehlo()
            c.expect("MAIL FROM:<@relay.test:x@y.test>", 250)
            r = c.cmd("RCPT TO:<@x.test,@y.test:v@a.test>")
            self.assertEqual(r.code, 250, r.raw)
            c.expect("DATA", 354)
            c.send(BODY + b".\r\n")
            self.assertEqual(c.reply().code, 250)
        after = self.srv.all_delivered()
        self.assertEqual(after.get("a.test/v/new", 0) - before.get("a.test/v/new", 0), 1)
        content = self.srv.maildir_messages("v@a.test")[-1][1]
        rp, received, _ = split_trace(content)
        self.assertEqual(rp, "Return-Path: <x@y.test>")

    def test_source_route_final_domain_decides(self):
        """RFC 5321 App. C / Issue 2: a route through a local domain to a
        remote one is relaying (554 5.7.1)."""
        for rcpt in ("@a.test:v@c.test", "@a.test,@b.test:v@c.test", "@x.test:v@a.test.evil"):
            r = self.assert_never_delivered(rcpt)
            self.assertEqual((r.code, r.enhanced()), (554, "5.7.1"), "%s: %r" % (rcpt, r.raw))

    def test_too_many_recipients(self):
        """RFC 5321 4.5.3.1.10: over [limits] recipients gets 452 4.5.3 and
        the accepted ones still get the message."""
        with pbtest.Server(users=["v@a.test"], limits={"recipients": 3}) as srv, \
                srv.client() as c:
            c.ehlo()
            c.expect("MAIL FROM:<x@y.test>", 250)
            for i in range(3):
                c.expect("RCPT TO:<v+%d@a.test>" % i, 250)
            r = c.cmd("RCPT TO:<v+9@a.test>")
            self.assertEqual((r.code, r.enhanced()), (452, "4.5.3"), r.raw)
            c.expect("DATA", 354)
            c.send(BODY + b".\r\n")
            self.assertEqual(c.reply().code, 250)
            self.assertEqual(len(srv.maildir_messages("v@a.test")), 1)


class TestCatchAll(RcptCase):
    users = ["v@a.test", "w@a.test", "v@b.test", "u@b.test"]
    aliases = {"@a.test": ["w@a.test"]}

    def test_catch_all(self):
        """Issue 2: the catch-all @a.test takes unknown local parts."""
        r, diff = self.deliver(["whoever@a.test"])
        self.assertEqual(r.code, 250, r.raw)
        self.assertEqual(diff, {"a.test/w/new": 1})

    def test_catch_all_does_not_shadow_users(self):
        """Issue 2: an existing user still gets their own mail."""
        r, diff = self.deliver(["v@a.test"])
        self.assertEqual(r.code, 250, r.raw)
        self.assertEqual(diff, {"a.test/v/new": 1})

    def test_catch_all_other_domain_unaffected(self):
        """Issue 2: the catch-all is per domain: unknown@b.test is 550."""
        r = self.rcpt("nobody@b.test")
        self.assertEqual((r.code, r.enhanced()), (550, "5.1.1"), r.raw)

    def test_path_characters_stay_in_catch_all(self):
        """Issue 2: quoted local parts with "/", ".." or "." never name a
        directory: they land in the catch-all mailbox and nothing is
        created outside DATA/mail/a.test/w."""
        for rcpt in ('"../../../x"@a.test', '"a/b"@a.test', '".."@a.test', '"."@a.test',
                     '"v+../../x"@a.test'):
            r = self.assert_never_delivered(rcpt, allowed=("a.test/w/new", "a.test/v/new"))
            self.assertEqual(r.code // 100 in (2, 5), True, r.raw)
        dirs = set()
        for dirpath, dirnames, _ in os.walk(self.srv.data_dir):
            dirs.update(os.path.relpath(os.path.join(dirpath, d), self.srv.data_dir)
                        for d in dirnames)
        # public/: the sendmail socket's directory (docs/sendmail.md).
        allowed = {"mail", "mail/a.test", "mail/b.test", "queue", "queue/incoming", "public"}
        users = ("a.test/v", "a.test/w", "b.test/v", "b.test/u")
        # Each user's own Maildir++ tree (INBOX and the special-use
        # folders `user add` makes) is theirs; nothing else may appear.
        stray = {d for d in dirs - allowed
                 if not any(d == "mail/" + u or d.startswith("mail/%s/" % u) for u in users)}
        self.assertEqual(stray, set())

    def test_percent_hack_with_catch_all_stays_local(self):
        """Issue 2: with a catch-all a percent hack lands in the catch-all
        mailbox, never at b.test."""
        r = self.assert_never_delivered("v%b.test@a.test", allowed=("a.test/w/new",))
        self.assertIn(r.code, (250, 550), r.raw)
        r = self.assert_never_delivered('"v@b.test"@a.test', allowed=("a.test/w/new",))
        self.assertIn(r.code, (250, 550, 553, 501), r.raw)


if __name__ == "__main__":
    unittest.main()
