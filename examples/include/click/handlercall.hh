// Stub Click header written for certify (its bundled example and its analyzer tests): only what they use.
#ifndef CERTIFY_STUB_HANDLERCALL_HH
#define CERTIFY_STUB_HANDLERCALL_HH
#include <click/element.hh>
#include <click/string.hh>
class HandlerCall {
  public:
    HandlerCall();
    HandlerCall(const String &call);
    int call_write() const;
    static int call_write(const char *handler, Element *context);
};
#endif
