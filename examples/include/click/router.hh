// Stub Click header written for certify (its bundled example and its analyzer tests): only what they use.
#ifndef CERTIFY_STUB_ROUTER_HH
#define CERTIFY_STUB_ROUTER_HH
#include <click/element.hh>
class Router {
  public:
    Element *find(const char *name, Element *context) const;
    Element *element(int i) const;
    int nelements() const;
};
#endif
