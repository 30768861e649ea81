// Stub Click header written for certify (its bundled example and its analyzer tests): only what they use.
#ifndef CERTIFY_STUB_KGLUE_HH
#define CERTIFY_STUB_KGLUE_HH
int printk(const char *fmt, ...);
void local_bh_disable();
#endif
