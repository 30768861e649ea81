// Stub Click header written for certify (its bundled example and its analyzer tests): only what they use.
#ifndef CERTIFY_STUB_STRING_HH
#define CERTIFY_STUB_STRING_HH
#include <click/config.h>
#include <click/vector.hh>
class String {
  public:
    String();
    String(const char *s);
    String(const String &s);
    String &operator=(const String &s);
    int length() const { return _length; }
    const char *c_str() const;
    typedef int (String::*unspecified_bool_type)() const;
    operator unspecified_bool_type() const { return _length != 0 ? &String::length : 0; }
  private:
    const char *_data;
    int _length;
};
String cp_shift_spacevec(String &s);
#endif
