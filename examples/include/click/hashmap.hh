// Stub Click header written for certify (its analyzer tests): only what they use.
#ifndef CERTIFY_STUB_HASHMAP_HH
#define CERTIFY_STUB_HASHMAP_HH
#include <click/config.h>
template <typename K, typename V> class HashMap {
  public:
    HashMap() : _n(0) {}
    int size() const { return _n; }
    const V *findp(const K &key) const;
    bool insert(const K &key, const V &value);
    V &operator[](const K &key);
    void clear() { _n = 0; }
  private:
    int _n;
};
#endif
