/* bench/fsync-rate: the disk's own rate of durable file creates.
 *
 *   fsync-rate DIR FILES THREADS [SIZE]
 *
 * Each of THREADS threads creates FILES/THREADS files of SIZE bytes (default
 * 2048) in DIR, and for every file: open(O_CREAT|O_EXCL), write, fsync(file),
 * close, fsync(DIR). That is the naive "one fsync pair per message" cost of a
 * Maildir delivery. Prints one line: "<files> <seconds> <creates/second>".
 * The files are left in DIR: on ext4 without a journal, creating files within
 * 30 s of deleting many costs a lot of CPU (recently_deleted() in the inode
 * allocator), so the caller removes them only when everything is measured.
 *
 * Built by bench/smtp-ingest with cc into a temporary directory; not part of
 * the CMake build. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *dir;
static int dirfd_shared;
static long per_thread;
static size_t size;
static char *payload;

struct job { int id; int failed; };

static void *run(void *arg)
{
	struct job *j = arg;
	char name[64];
	for (long i = 0; i < per_thread; i++) {
		snprintf(name, sizeof name, "f-%d-%ld", j->id, i);
		int fd = openat(dirfd_shared, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0) { perror(name); j->failed = 1; return NULL; }
		size_t off = 0;
		while (off < size) {
			ssize_t n = write(fd, payload + off, size - off);
			if (n < 0) {
				if (errno == EINTR) continue;
				perror("write"); j->failed = 1; close(fd); return NULL;
			}
			off += (size_t)n;
		}
		if (fsync(fd) != 0) { perror("fsync"); j->failed = 1; close(fd); return NULL; }
		close(fd);
		if (fsync(dirfd_shared) != 0) { perror("fsync dir"); j->failed = 1; return NULL; }
	}
	return NULL;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: fsync-rate DIR FILES THREADS [SIZE]\n");
		return 2;
	}
	dir = argv[1];
	long files = atol(argv[2]);
	int threads = atoi(argv[3]);
	size = argc == 5 ? (size_t)atol(argv[4]) : 2048;
	if (files <= 0 || threads <= 0 || threads > 256) {
		fprintf(stderr, "fsync-rate: bad FILES or THREADS\n");
		return 2;
	}
	per_thread = files / threads;
	if (per_thread == 0) per_thread = 1;
	payload = malloc(size ? size : 1);
	if (!payload) return 1;
	for (size_t i = 0; i < size; i++)
		payload[i] = (i % 78 == 77) ? '\n' : (char)('a' + i % 26);

	dirfd_shared = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd_shared < 0) { perror(dir); return 1; }

	pthread_t tid[256];
	struct job jobs[256];
	double t0 = now();
	for (int t = 0; t < threads; t++) {
		jobs[t].id = t;
		jobs[t].failed = 0;
		if (pthread_create(&tid[t], NULL, run, &jobs[t]) != 0) {
			fprintf(stderr, "fsync-rate: pthread_create failed\n");
			return 1;
		}
	}
	int failed = 0;
	for (int t = 0; t < threads; t++) {
		pthread_join(tid[t], NULL);
		failed |= jobs[t].failed;
	}
	double secs = now() - t0;
	long total = per_thread * threads;

	close(dirfd_shared);
	if (failed) return 1;
	printf("%ld %.3f %.0f\n", total, secs, (double)total / secs);
	return 0;
}
