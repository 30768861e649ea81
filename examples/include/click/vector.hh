// Stub Click header written for certify (its analyzer tests): only what they use.
#ifndef CERTIFY_STUB_VECTOR_HH
#define CERTIFY_STUB_VECTOR_HH
#include <click/config.h>
template <typename T> class Vector {
  public:
    typedef T *iterator;
    typedef const T *const_iterator;
    Vector() : _l(0), _n(0), _cap(0) {}
    int size() const { return _n; }
    bool empty() const { return _n == 0; }
    T &operator[](int i) { return _l[i]; }
    const T &operator[](int i) const { return _l[i]; }
    iterator begin() { return _l; }
    const_iterator begin() const { return _l; }
    iterator end() { return _l + _n; }
    const_iterator end() const { return _l + _n; }
    void push_back(const T &x);
    void pop_back() { --_n; }
    void resize(int n, const T &x = T());
    void clear() { _n = 0; }
    void swap(Vector<T> &x);
    Vector<T> &operator=(const Vector<T> &x);
  private:
    T *_l;
    int _n;
    int _cap;
};
#endif
