// Stub of kernel functions reachable through Click's linuxmodule glue, for the bundled example elements.
#ifndef CERTIFY_STUB_KGLUE_HH
#define CERTIFY_STUB_KGLUE_HH
int printk(const char *fmt, ...);
void local_bh_disable();
#endif
