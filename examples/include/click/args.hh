// Stub Click header written for certify (its bundled example and its analyzer tests): only what they use:
// the shape of Click's configuration-argument reader, a chain of reads by keyword.
#ifndef CERTIFY_STUB_ARGS_HH
#define CERTIFY_STUB_ARGS_HH
#include <click/string.hh>
class Element;
class ErrorHandler;
class AnyArg {
  public:
    AnyArg() {}
};
class Args {
  public:
    Args(Vector<String> &conf, Element *context, ErrorHandler *errh);
    Args(ErrorHandler *errh);
    Args &bind(Vector<String> &conf);
    template <typename T> Args &read(const char *keyword, T &x);
    template <typename P, typename T> Args &read(const char *keyword, P parser, T &x);
    template <typename T> Args &read_p(const char *keyword, T &x);
    template <typename T> Args &read_or_set(const char *keyword, T &x, const T &value);
    int complete();
};
#endif
