package runtime

import (
	"math"
	"strings"
	"testing"
)

func TestTypeSize(t *testing.T) {
	want := map[byte]int{'b': 1, 'B': 1, 'h': 2, 'H': 2, 'i': 4, 'I': 4, 'l': 8, 'L': 8, 'q': 8, 'Q': 8, 'f': 4, 'd': 8}
	for code, n := range want {
		if got, err := TypeSize(code); got != n || err != nil {
			t.Errorf("TypeSize(%q) = %d, %v, want %d", code, got, err, n)
		}
	}
	if _, err := TypeSize('x'); err == nil || !strings.Contains(err.Error(), "b, B, h") {
		t.Errorf("TypeSize('x') = %v, want an error listing the typecodes", err)
	}
}

func TestNumberRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		code byte
		vals []float64
	}{
		{'b', []float64{-128, -1, 0, 127}},
		{'B', []float64{0, 1, 255}},
		{'h', []float64{-32768, 32767}},
		{'H', []float64{0, 65535}},
		{'i', []float64{math.MinInt32, math.MaxInt32}},
		{'I', []float64{0, math.MaxUint32}},
		{'l', []float64{-1 << 53, 1<<53 - 1, 1 << 53}},
		{'q', []float64{-1 << 53, 1 << 53, -12345678901234}},
		{'L', []float64{0, 1 << 53}},
		{'Q', []float64{0, 1 << 53}},
		{'f', []float64{0, 1.5, -2.25, math.MaxFloat32, math.SmallestNonzeroFloat32, math.Inf(1), math.Inf(-1)}},
		{'d', []float64{0, 0.1, math.MaxFloat64, -math.SmallestNonzeroFloat64, math.Inf(-1)}},
	} {
		buf := make([]byte, 16)
		for _, off := range []int{0, 1} { // aligned and not
			for _, v := range tc.vals {
				if err := StoreNumber(tc.code, buf[off:], v); err != nil {
					t.Errorf("StoreNumber(%q, %v) = %v, want nil", tc.code, v, err)
					continue
				}
				if got := LoadNumber(tc.code, buf[off:]); got != v {
					t.Errorf("StoreNumber(%q, %v) then LoadNumber = %v, want %v", tc.code, v, got, v)
				}
			}
		}
	}
	buf := make([]byte, 8)
	StoreNumber('f', buf, math.NaN())
	if got := LoadNumber('f', buf); !math.IsNaN(got) {
		t.Errorf("'f' NaN round trip = %v, want NaN", got)
	}
	StoreNumber('f', buf, 0.1)
	if got := LoadNumber('f', buf); got != float64(float32(0.1)) {
		t.Errorf("'f' 0.1 = %v, want float32 rounding %v", got, float64(float32(0.1)))
	}
}

func TestStoreNumberRejects(t *testing.T) {
	for _, tc := range []struct {
		code byte
		v    float64
		want string // in the error
	}{
		{'b', 128, "from -128 to 127"},
		{'b', -129, "from -128 to 127"},
		{'B', -1, "from 0 to 255"},
		{'B', 256, "from 0 to 255"},
		{'h', 32768, "32767"},
		{'H', -1, "65535"},
		{'i', 1 << 31, "2147483647"},
		{'I', 1 << 32, "4294967295"},
		{'I', 1.5, "want an integer"},
		{'q', 1<<53 + 2, "2^53"},
		{'q', -(1<<53 + 2), "2^53"},
		{'l', math.Inf(1), "want an integer"},
		{'Q', math.NaN(), "want an integer"},
		{'L', -1, "from 0 to"},
		{'f', 1e39, "out of range"},
		{'f', -1e39, "out of range"},
		{'x', 1, "want one of"},
	} {
		buf := make([]byte, 8)
		err := StoreNumber(tc.code, buf, tc.v)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("StoreNumber(%q, %v) = %v, want an error mentioning %q", tc.code, tc.v, err, tc.want)
		}
		if err != nil && string(buf) != string(make([]byte, 8)) {
			t.Errorf("StoreNumber(%q, %v) failed but wrote %v", tc.code, tc.v, buf)
		}
	}
}
