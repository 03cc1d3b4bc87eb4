//go:build unix

package cli_test

// A small JSON Schema checker for the schemas in docs/schemas: the
// keywords they use (type, properties, required, additionalProperties,
// items, enum, minimum) and annotations. A schema with any other keyword
// fails the test, so that nothing is silently left unchecked.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
)

type schema map[string]any

var annotations = map[string]bool{"$schema": true, "$id": true, "title": true, "description": true, "contentEncoding": true}

func loadSchema(t *testing.T, name string) schema {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", "schemas", name))
	if err != nil {
		t.Fatal(err)
	}
	var s schema
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return s
}

// validate reports every way v (decoded JSON) breaks s, at path.
func validate(s schema, v any, path string) []string {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, path+": "+fmt.Sprintf(format, args...)) }
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch k {
		case "type":
			types, ok := s[k].([]any)
			if !ok {
				types = []any{s[k]}
			}
			match := false
			for _, t := range types {
				match = match || hasType(v, t.(string))
			}
			if !match {
				bad("%v is not of type %v", short(v), s[k])
			}
		case "properties":
			obj, ok := v.(map[string]any)
			if !ok {
				continue
			}
			for name, sub := range s[k].(map[string]any) {
				if pv, ok := obj[name]; ok {
					errs = append(errs, validate(schema(sub.(map[string]any)), pv, path+"."+name)...)
				}
			}
		case "required":
			obj, ok := v.(map[string]any)
			if !ok {
				continue
			}
			for _, name := range s[k].([]any) {
				if _, ok := obj[name.(string)]; !ok {
					bad("required property %s missing", name)
				}
			}
		case "additionalProperties":
			obj, ok := v.(map[string]any)
			if !ok {
				continue
			}
			props, _ := s["properties"].(map[string]any)
			for name, pv := range obj {
				if _, declared := props[name]; declared {
					continue
				}
				switch ap := s[k].(type) {
				case bool:
					if !ap {
						bad("property %s is not allowed", name)
					}
				case map[string]any:
					errs = append(errs, validate(schema(ap), pv, path+"."+name)...)
				}
			}
		case "items":
			arr, ok := v.([]any)
			if !ok {
				continue
			}
			for i, e := range arr {
				errs = append(errs, validate(schema(s[k].(map[string]any)), e, fmt.Sprintf("%s[%d]", path, i))...)
			}
		case "enum":
			found := false
			for _, e := range s[k].([]any) {
				found = found || reflect.DeepEqual(e, v)
			}
			if !found {
				bad("%v is none of %v", short(v), s[k])
			}
		case "minimum":
			if n, ok := v.(float64); ok && n < s[k].(float64) {
				bad("%v is below %v", n, s[k])
			}
		default:
			if !annotations[k] {
				bad("the checker does not know the keyword %q", k)
			}
		}
	}
	return errs
}

func hasType(v any, t string) bool {
	switch t {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "null":
		return v == nil
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		n, ok := v.(float64)
		return ok && n == float64(int64(n))
	}
	return false
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 60 {
		return string(b[:57]) + "..."
	}
	return string(b)
}

// The checker itself finds what it must find.
func TestSchemaChecker(t *testing.T) {
	s := loadSchema(t, "exec.schema.json")
	good := `{"host":"h","success":true,"exit_code":0,"stdout":"","stderr":"","duration_s":0.1,"error":null}`
	for doc, want := range map[string]int{
		good: 0,
		`{"host":"h","success":true,"exit_code":1.5,"stdout":"","stderr":"","duration_s":0.1,"error":null}`:         1, // not an integer
		`{"host":"h","success":"yes","exit_code":0,"stdout":"","stderr":"","duration_s":0.1,"error":null}`:          1,
		`{"host":"h","success":true,"exit_code":0,"stdout":"","stderr":"","duration_s":-1,"error":null}`:            1,
		`{"host":"h","success":true,"exit_code":0,"stdout":"","stderr":"","duration_s":0.1,"error":null,"extra":1}`: 1,
		`{"host":"h","success":true,"exit_code":0,"stdout":"","stderr":"","duration_s":0.1}`:                        1, // error missing
	} {
		var v any
		if err := json.Unmarshal([]byte(doc), &v); err != nil {
			t.Fatal(err)
		}
		if errs := validate(s, v, "$"); len(errs) != want {
			t.Errorf("%s: %d errors, want %d: %v", doc, len(errs), want, errs)
		}
	}
	d := loadSchema(t, "deploy.schema.json")
	var v any
	json.Unmarshal([]byte(`{"host":"h","success":true,"changed":false,"dry":false,"error":null,"operations":[{"operation":"x","changed":false,"success":true,"status":"done","duration_s":0,"error":null}]}`), &v)
	if errs := validate(d, v, "$"); len(errs) != 1 {
		t.Errorf("a status outside the enum: %v", errs)
	}
	if errs := validate(schema{"uniqueItems": true}, v, "$"); len(errs) != 1 {
		t.Errorf("an unknown keyword: %v", errs)
	}
}
