/* Reading message files for store_fill.c. Many files (a new Maildir's
 * first FETCH): a second thread reads and parses the next batch while the
 * caller writes the current one into the index, so the two halves of the
 * work overlap on two cores. The thread touches no index: a file that
 * vanished is reported, and the caller looks up its new name. */
#include "store/store_private.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fs.h"

struct store_reading {
	int dirfd;
	const struct store_unread *files;
	size_t n, batch, nbatches;
	struct store_readout *slot[2];   /* batch k is in slot[k % 2] */
	char *buf[2];                     /* one read buffer per thread */
	size_t cap[2];
	size_t next;                      /* batch the caller gets next */
	bool threaded;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t produced, released;        /* batches read; handed back */
	bool stop;
};

static int read_file(int dirfd, char **buf, size_t *cap, const char *fname,
		     struct store_readout *o)
{
	/* "cur/NAME": no link followed, neither cur/ nor the file; a FIFO
	 * in its place does not block the open. */
	int fd = fs_open_beneath(dirfd, fname, O_RDONLY | O_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > STORE_MSG_MAX) {
		close(fd);
		errno = EIO;
		return -1;
	}
	size_t size = (size_t)st.st_size;
	if (size + 1 > *cap) {
		char *d = realloc(*buf, size + 1);
		if (d == NULL) {
			close(fd);
			errno = ENOMEM;
			return -1;
		}
		*buf = d;
		*cap = size + 1;
	}
	size_t got = fs_read_full(fd, *buf, size);
	close(fd);
	(*buf)[got] = '\0';
	o->idate = st.st_mtim.tv_sec;
	return store_parse_data(*buf, got, &o->f);
}

static void read_into(struct store_reading *r, int who, const char *fname,
		      struct store_readout *o)
{
	store_facts_free(&o->f);
	*o = (struct store_readout){ 0 };
	o->err = read_file(r->dirfd, &r->buf[who], &r->cap[who], fname, o) == 0 ? 0 : errno;
}

static void read_batch(struct store_reading *r, int who, size_t k)
{
	struct store_readout *o = r->slot[k % 2];
	size_t first = k * r->batch;
	size_t count = r->n - first < r->batch ? r->n - first : r->batch;
	for (size_t i = 0; i < count; i++)
		read_into(r, who, r->files[first + i].fname, &o[i]);
}

static void *reader_main(void *arg)
{
	struct store_reading *r = arg;
	for (size_t k = 0; k < r->nbatches; k++) {
		pthread_mutex_lock(&r->mu);
		while (!r->stop && k - r->released >= 2)
			pthread_cond_wait(&r->cv, &r->mu);
		bool stop = r->stop;
		pthread_mutex_unlock(&r->mu);
		if (stop)
			break;
		read_batch(r, 1, k);
		pthread_mutex_lock(&r->mu);
		r->produced = k + 1;
		pthread_cond_broadcast(&r->cv);
		pthread_mutex_unlock(&r->mu);
	}
	return NULL;
}

int store_reading_start(const struct mfolder *mf, const struct store_unread *files, size_t n,
			size_t batch, struct store_reading **r_r, const char **error_r)
{
	struct store_reading *r = calloc(1, sizeof *r);
	if (r == NULL)
		goto nomem;
	r->files = files;
	r->n = n;
	r->batch = batch;
	r->nbatches = (n + batch - 1) / batch;
	r->dirfd = store_dir_open(mf, "");
	if (r->dirfd < 0) {
		free(r);
		*error_r = "cannot open folder";
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		if ((r->slot[i] = calloc(batch, sizeof *r->slot[i])) == NULL) {
			store_reading_stop(r);
			goto nomem;
		}
	}
	if (r->nbatches > 1 && pthread_mutex_init(&r->mu, NULL) == 0) {
		if (pthread_cond_init(&r->cv, NULL) != 0)
			pthread_mutex_destroy(&r->mu);
		else if (pthread_create(&r->thread, NULL, reader_main, r) != 0) {
			pthread_cond_destroy(&r->cv);
			pthread_mutex_destroy(&r->mu);
		} else {
			r->threaded = true;
		}
	}
	*r_r = r;
	return 0;
nomem:
	*error_r = "out of memory";
	return -1;
}

struct store_readout *store_reading_next(struct store_reading *r, size_t *first_r,
					 size_t *count_r)
{
	size_t k = r->next;
	if (r->threaded && k > 0) {
		pthread_mutex_lock(&r->mu);
		r->released = k;   /* batch k - 1's slot is free again */
		pthread_cond_broadcast(&r->cv);
		pthread_mutex_unlock(&r->mu);
	}
	if (k >= r->nbatches)
		return NULL;
	if (r->threaded) {
		pthread_mutex_lock(&r->mu);
		while (r->produced <= k)
			pthread_cond_wait(&r->cv, &r->mu);
		pthread_mutex_unlock(&r->mu);
	} else {
		read_batch(r, 0, k);
	}
	r->next = k + 1;
	*first_r = k * r->batch;
	*count_r = r->n - *first_r < r->batch ? r->n - *first_r : r->batch;
	return r->slot[k % 2];
}

void store_reading_again(struct store_reading *r, const char *fname, struct store_readout *o)
{
	read_into(r, 0, fname, o);
}

void store_reading_stop(struct store_reading *r)
{
	if (r == NULL)
		return;
	if (r->threaded) {
		pthread_mutex_lock(&r->mu);
		r->stop = true;
		pthread_cond_broadcast(&r->cv);
		pthread_mutex_unlock(&r->mu);
		pthread_join(r->thread, NULL);
		pthread_cond_destroy(&r->cv);
		pthread_mutex_destroy(&r->mu);
	}
	for (int i = 0; i < 2; i++) {
		for (size_t j = 0; r->slot[i] != NULL && j < r->batch; j++)
			store_facts_free(&r->slot[i][j].f);
		free(r->slot[i]);
		free(r->buf[i]);
	}
	if (r->dirfd >= 0)
		close(r->dirfd);
	free(r);
}
