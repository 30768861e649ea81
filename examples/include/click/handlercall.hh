// Stub Click header written for certify (its bundled example and its analyzer tests): only what they use.
#ifndef CERTIFY_STUB_HANDLERCALL_HH
#define CERTIFY_STUB_HANDLERCALL_HH
#include <click/element.hh>
class HandlerCall {
  public:
    int call_write() const;
    static int call_write(const char *handler, Element *context);
};
#endif
