"""The stock class table: scanned from element sources, shipped as data."""

from merge.lang.stock_classes import scan, stock_classes, stock_elements

BASE = """
class Base : public Element { public:
    const char *class_name() const { return "Base"; }
    const char *port_count() const { return PORTS_1_1X2; }
    const char *processing() const { return PROCESSING_A_AH; }
};
"""
DERIVED = """
class Derived : public Base { public:
    const char *class_name() const override { return "Derived"; }
};
class Plain : public Element { public:
    const char *class_name() const { return "Plain"; }
};
class Dynamic : public Element { public:
    const char *class_name() const { return "Dynamic"; }
    const char *port_count() const { return _ports.c_str(); }
};
class Odd : public SomethingUnknown { public:
    const char *class_name() const { return "Odd"; }
    const char *processing() const { return "h/l"; }
};
"""


def test_scan_reads_literals_constants_inheritance_and_defaults(tmp_path):
    d = tmp_path / "elements" / "standard"
    d.mkdir(parents=True)
    (d / "base.hh").write_text(BASE)
    (d / "derived.hh").write_text(DERIVED)
    got = scan(str(tmp_path))
    assert got == {
        "Base": {"port_count": "1/1-2", "processing": "a/ah"},
        "Derived": {"port_count": "1/1-2", "processing": "a/ah"},  # inherited
        "Plain": {"port_count": "0", "processing": "a"},  # Element's defaults
        "Dynamic": {"processing": "a"},  # computed at run time: unknown
        "Odd": {"processing": "h/l"},  # unknown base: port count unknown
    }


def test_shipped_table():
    classes = stock_classes()
    assert len(classes) > 400
    assert {"Queue", "Classifier", "ScheduleInfo", "StaticThreadSched", "Unstrip", "StoreData"} <= classes
    assert stock_elements()["Queue"] == {"port_count": "1/1-2", "processing": "h/lh"}
    assert all(name[:1].isupper() for name in classes)
