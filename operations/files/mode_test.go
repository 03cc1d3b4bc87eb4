package files

import "testing"

// A symbolic mode's result is chmod's, from the current mode.
func TestModeResult(t *testing.T) {
	for _, c := range []struct {
		mode     string
		cur      int
		dir      bool
		want     int
		known    bool
		chmodArg string
	}{
		{"u=rwx,g=rx", 600, false, 750, true, "u=rwx,g=rx"},
		{"a+X", 644, false, 644, true, "a+X"},
		{"a+X", 744, false, 755, true, "a+X"},
		{"a+X", 644, true, 755, true, "a+X"},
		{"g=u", 740, false, 770, true, "g=u"},
		{"u+s,o-rwx", 755, false, 4750, true, "u+s,o-rwx"},
		{"o+t", 777, true, 1777, true, "o+t"},
		{"u+t", 755, true, 755, true, "u+t"},
		{"g=rx", 2750, true, 2750, true, "g=rx"},
		{"g=rx", 2750, false, 750, true, "g=rx"},
		{"ug+w-x", 755, false, 665, true, "ug+w-x"},
		{"a=", 777, false, 0, true, "a="},
		{"+x", 644, false, 0, false, "+x"},
		{"u+x,+w", 644, false, 0, false, "u+x,+w"},
		{"0644", 600, false, 644, true, "644"},
		{"4755", 755, false, 4755, true, "4755"},
	} {
		m, err := parseMode(c.mode)
		if err != nil {
			t.Errorf("%s: %v", c.mode, err)
			continue
		}
		got, known := m.result(c.cur, c.dir)
		if known != c.known || (known && got != c.want) || m.arg != c.chmodArg {
			t.Errorf("%s on %d (dir %v) = %d, %v, arg %q; want %d, %v, %q", c.mode, c.cur, c.dir, got, known, m.arg, c.want, c.known, c.chmodArg)
		}
	}
	for _, bad := range []any{"u+q", "8", "12345", "rwx", "u+x,", true, 1.5} {
		if _, err := parseMode(bad); err == nil {
			t.Errorf("%v: accepted", bad)
		}
	}
	if m, err := parseMode(644); err != nil || m.arg != "644" || m.octal != 0o644 {
		t.Errorf("644 = %+v, %v", m, err)
	}
}
