// Stub Click header written for certify (its bundled example and its analyzer tests): only what they use.
#ifndef CERTIFY_STUB_CONFIG_H
#define CERTIFY_STUB_CONFIG_H
#define CLICK_DECLS
#define CLICK_ENDDECLS
#define EXPORT_ELEMENT(name)
#define ELEMENT_REQUIRES(requirements)
#define ELEMENT_HEADER(header)
typedef unsigned char uint8_t;
typedef unsigned short uint16_t;
typedef unsigned int uint32_t;
typedef unsigned long uintptr_t;
typedef unsigned long size_t;
#endif
