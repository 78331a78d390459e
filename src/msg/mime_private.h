#ifndef PB_MSG_MIME_PRIVATE_H
#define PB_MSG_MIME_PRIVATE_H
/* Between mime.c and mime_params.c: the structured MIME header fields. */

#include "msg/mime.h"

/* Each returns 0, or -1 when the arena is exhausted. Unusable values leave
 * the part's defaults in place. */
int msg_mime_content_type(struct msg_arena *a, struct str value, struct msg_part *part);
int msg_mime_disposition(struct msg_arena *a, struct str value, struct msg_part *part);
int msg_mime_languages(struct msg_arena *a, struct str value, struct msg_part *part);
/* The first token of a value, comments skipped (Content-Transfer-Encoding). */
struct str msg_mime_first_token(struct str value);
/* The unfolded, trimmed value: a view into the message when it has no line
 * ends, else an arena copy. Empty becomes absent (p == NULL). */
int msg_mime_unfolded(struct msg_arena *a, struct str value, struct str *r);

#endif
