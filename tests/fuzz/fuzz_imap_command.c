/* libFuzzer target: the IMAP command reader and every argument parser.
 * The first two input bytes choose the limits and the literal policy; the
 * rest is the client's stream, fed once whole and once in chunks whose
 * sizes come from a seed in the input. Checks, beyond "no crash, no leak,
 * no overread" (each chunk is an exact-size heap copy):
 *  - trickle: both feedings give the same events with the same contents;
 *  - the reader never reports using more than it was given;
 *  - BAD/FATAL always carry a reason, commands a valid tag and name;
 *  - typed results keep their promises (ranges ordered, counts bounded);
 *  - modified UTF-7 that decodes re-encodes to the same octets. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_mutf7.h"
#include "imap/imap_parse.h"
#include "imap/imap_parse_cmd.h"

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "CHECK failed: %s (line %d)\n", #x, __LINE__); abort(); } } while (0)

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 0x100000001b3ULL;
	return h;
}

static uint64_t mix_str(uint64_t h, struct str s)
{
	h = mix(h, &s.len, sizeof s.len);
	return s.len ? mix(h, s.p, s.len) : h;
}

static uint64_t hash_args(uint64_t h, const struct imap_arg *a, unsigned depth)
{
	CHECK(depth <= IMAP_DEPTH_MAX_DEFAULT + 1);
	for (; a->type != IMAP_ARG_EOL; a++) {
		h = mix(h, &a->type, sizeof a->type);
		if (a->type == IMAP_ARG_LIST) {
			CHECK(imap_args_count(a->list) == a->list_count);
			h = hash_args(h, a->list, depth + 1);
		} else {
			CHECK(a->type != IMAP_ARG_ATOM || a->str.len > 0);
			h = mix_str(h, a->str);
		}
	}
	return h;
}

static void check_mutf7(struct str s)
{
	struct buf u, m;
	const char *why;
	buf_init(&u, 1 << 20);
	buf_init(&m, 1 << 20);
	if (imap_mutf7_to_utf8(s, &u, &why) == 0) {
		CHECK(utf8_valid(buf_str(&u)));
		CHECK(imap_utf8_to_mutf7(buf_str(&u), &m, &why) == 0);
		CHECK(m.len == s.len && (s.len == 0 || memcmp(m.data, s.p, s.len) == 0));
	} else if (utf8_valid(s) && memchr(s.p, '\0', s.len) == NULL) {
		CHECK(imap_utf8_to_mutf7(s, &m, &why) == 0);
		CHECK(imap_mutf7_to_utf8(buf_str(&m), &u, &why) == 0);
		CHECK(u.len == s.len && (s.len == 0 || memcmp(u.data, s.p, s.len) == 0));
	}
	buf_free(&u);
	buf_free(&m);
}

static void check_seqset(const struct imap_seqset *set)
{
	for (size_t i = 0; i < set->count; i++)
		CHECK(set->ranges[i].lo == IMAP_SEQ_STAR ? set->ranges[i].hi == IMAP_SEQ_STAR :
		      set->ranges[i].hi == IMAP_SEQ_STAR || set->ranges[i].lo <= set->ranges[i].hi);
}

static unsigned search_depth(const struct imap_search_key *k)
{
	unsigned d = 0;
	for (const struct imap_search_key *c = k->child; c != NULL; c = c->next) {
		unsigned cd = search_depth(c);
		d = cd > d ? cd : d;
	}
	if (k->type == IMAP_SEARCH_SEQSET || k->type == IMAP_SEARCH_UID)
		check_seqset(k->seqset);
	return d + 1;
}

static void parse_fetch_and_search(const struct imap_arg *a)
{
	struct imap_fetch *f;
	struct imap_search *s;
	struct imap_sort *so;
	struct imap_thread *th;
	const char *why = NULL;

	for (int skip = 0; skip < 2 && a[skip].type != IMAP_ARG_EOL; skip++) {
		if (imap_parse_fetch(a + skip, &f, &why) == 0) {
			for (size_t i = 0; i < f->section_count; i++)
				CHECK(f->sections[i].part_count <= IMAP_SECTION_PART_MAX &&
				      (!f->sections[i].partial || f->sections[i].size > 0));
			imap_fetch_free(&f);
			CHECK(f == NULL);
		} else {
			CHECK(why != NULL);
		}
	}
	if (imap_parse_search(a, &s, &why) == 0) {
		CHECK(search_depth(s->root) <= IMAP_SEARCH_DEPTH_MAX + 1);
		imap_search_free(&s);
	}
	if (imap_parse_sort(a, &so, &why) == 0)
		imap_sort_free(&so);
	if (imap_parse_thread(a, &th, &why) == 0)
		imap_thread_free(&th);
}

static void parse_others(const struct imap_arg *a)
{
	struct imap_store *st;
	struct imap_list *l;
	struct imap_select *se;
	struct imap_append *ap;
	struct imap_seqset *set;
	struct imap_flags *fl;
	struct imap_id id;
	struct imap_enable en;
	struct imap_authenticate au;
	struct imap_datetime dt;
	struct imap_date d;
	struct str s;
	unsigned items;
	const char *why;

	if (imap_parse_store(a, &st, &why) == 0) {
		check_seqset(st->seqset);
		imap_store_free(&st);
	}
	for (int lsub = 0; lsub < 2; lsub++)
		if (imap_parse_list(a, lsub, &l, &why) == 0) {
			CHECK(l->pattern_count >= 1 && l->pattern_count <= IMAP_LIST_PATTERNS_MAX);
			imap_list_free(&l);
		}
	if (imap_parse_select(a, &se, &why) == 0)
		imap_select_free(&se);
	if (imap_parse_append(a, &ap, &why) == 0) {
		CHECK(ap->msg_count >= 1);
		imap_append_free(&ap);
	}
	(void)imap_parse_id(a, &id, &why);
	(void)imap_parse_enable(a, &en, &why);
	(void)imap_parse_authenticate(a, &au, &why);
	for (; a->type != IMAP_ARG_EOL; a++) {
		(void)imap_parse_status_items(a, &items, &why);
		if (imap_arg_get_seqset(a, true, &set, &why) == 0) {
			check_seqset(set);
			imap_seqset_free(&set);
		}
		if (imap_parse_flag_list(a, true, &fl, &why) == 0)
			imap_flags_free(&fl);
		(void)imap_arg_get_date(a, &d);
		if (imap_arg_get_datetime(a, &dt) == 0)
			CHECK(dt.date.month >= 1 && dt.date.month <= 12 && dt.hour < 24);
		if (imap_arg_get_mailbox(a, &s) == 0 || imap_arg_get_list_mailbox(a, &s) == 0)
			check_mutf7(s);
	}
}

struct run {
	uint64_t hash;
	unsigned events;
};

static void on_event(struct imap_reader *r, enum imap_read_result res, uint64_t accept_max,
		     struct run *run)
{
	const struct imap_arg *args;
	const char *why = NULL;

	run->hash = mix(run->hash, &res, sizeof res);
	run->events++;
	if (res == IMAP_READ_COMMAND) {
		const struct imap_command *c = imap_reader_command(r);
		CHECK(c->tag.len > 0 && c->name.len > 0);
		run->hash = mix_str(mix_str(run->hash, c->tag), c->name);
		if (imap_reader_args(r, &args, &why) == 0) {
			run->hash = hash_args(run->hash, args, 0);
			parse_fetch_and_search(args);
			parse_others(args);
		} else {
			CHECK(why != NULL);
			run->hash = mix(run->hash, why, strlen(why));
		}
		if (str_case_eq_cstr(c->name, "AUTHENTICATE") || str_case_eq_cstr(c->name, "IDLE"))
			imap_reader_want_line(r);
	} else if (res == IMAP_READ_LITERAL) {
		const struct imap_literal_info *l = imap_reader_literal(r);
		run->hash = mix(run->hash, &l->size, sizeof l->size);
		if (l->size <= accept_max)
			(void)imap_reader_literal_accept(r);
		else
			imap_reader_literal_reject(r, true, "too big");
	} else if (res == IMAP_READ_LINE) {
		run->hash = mix_str(run->hash, imap_reader_line(r));
	} else {
		const struct imap_read_error *e = imap_reader_error(r);
		CHECK(e->text != NULL);
		run->hash = mix_str(run->hash, e->tag);
		run->hash = mix(run->hash, e->text, strlen(e->text));
	}
}

static void feed_all(const struct imap_reader_settings *set, const uint8_t *data, size_t size,
		     uint64_t accept_max, uint32_t seed, struct run *run)
{
	struct imap_reader *r = imap_reader_new(set);
	size_t pos = 0, used;

	CHECK(r != NULL);
	*run = (struct run){ 0xcbf29ce484222325ULL, 0 };
	while (pos < size) {
		size_t n = size - pos;
		if (seed != 0) {
			seed = seed * 1103515245 + 12345;
			size_t c = 1 + (seed >> 16) % 17;
			n = c < n ? c : n;
		}
		char *copy = malloc(n);
		CHECK(copy != NULL);
		memcpy(copy, data + pos, n);
		enum imap_read_result res = imap_reader_feed(r, copy, n, &used);
		free(copy);
		CHECK(used <= n);
		CHECK(res != IMAP_READ_MORE || used == n);
		pos += used;
		if (res == IMAP_READ_MORE)
			continue;
		on_event(r, res, accept_max, run);
		if (res == IMAP_READ_FATAL)
			break;
	}
	imap_reader_free(&r);
	CHECK(r == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_reader_settings set;
	struct run whole, chunked;

	if (size < 3)
		return 0;
	imap_reader_settings_default(&set);
	set.line_max = 64 + (size_t)(data[0] & 0x3f) * 64;
	set.command_max = set.line_max + (uint64_t)(data[1] & 0x0f) * 512;
	set.literal_minus = (data[0] & 0x40) != 0;
	set.literals_max = 1 + (data[1] >> 4);
	uint64_t accept_max = (data[0] & 0x80) ? 4096 : 16;
	uint32_t seed = data[2] | 1u;

	feed_all(&set, data + 3, size - 3, accept_max, 0, &whole);
	feed_all(&set, data + 3, size - 3, accept_max, seed, &chunked);
	CHECK(whole.events == chunked.events);
	CHECK(whole.hash == chunked.hash);
	return 0;
}
