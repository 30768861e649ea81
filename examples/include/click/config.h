// Stub Click configuration header for certify's bundled example (written for certify, not Click's).
#ifndef CERTIFY_STUB_CONFIG_H
#define CERTIFY_STUB_CONFIG_H
#define CLICK_DECLS
#define CLICK_ENDDECLS
#define EXPORT_ELEMENT(name)
#define ELEMENT_REQUIRES(requirements)
typedef unsigned char uint8_t;
typedef unsigned short uint16_t;
typedef unsigned int uint32_t;
typedef unsigned long uintptr_t;
typedef unsigned long size_t;
#endif
