// Stub Click header written for certify (its bundled example and its analyzer tests): only what they use.
#ifndef CERTIFY_STUB_GLUE_HH
#define CERTIFY_STUB_GLUE_HH
#include <click/config.h>
extern "C" {
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
void *malloc(size_t n);
void free(void *p);
}
void click_chatter(const char *fmt, ...);
#endif
