// argocd-health runs config/argocd/health.lua against every case of
// config/argocd/health_test.yaml the way Argo CD v3.6 runs a health
// customization from argocd-cm (util/lua: VM.runLua and ExecuteHealthLua):
// gopher-lua without the standard libraries (useOpenLibs is off for
// argocd-cm scripts) but with package, base, table and a safe os; the object
// as the global `obj` (decodeValue); a 1 s timeout; the returned table
// encoded by gopher-json and read as {status, message}; an unknown status
// becomes Unknown.
//
// Built against github.com/yuin/gopher-lua at the version Argo CD v3.6.0
// pins, not against the argo-cd module itself (it needs Go 1.27 and
// k8s.io/kubernetes). Usage: argocd-health <dir of health_test.yaml>
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	lua "github.com/yuin/gopher-lua"
	luajson "layeh.com/gopher-json"
	"sigs.k8s.io/yaml"
)

type healthStatus struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

type testFile struct {
	Tests []struct {
		HealthStatus healthStatus `json:"healthStatus"`
		InputPath    string       `json:"inputPath"`
	} `json:"tests"`
}

// decodeValue is Argo CD's conversion of an unstructured object to Lua.
func decodeValue(l *lua.LState, value any) lua.LValue {
	switch v := value.(type) {
	case bool:
		return lua.LBool(v)
	case float64:
		return lua.LNumber(v)
	case int64:
		return lua.LNumber(v)
	case string:
		return lua.LString(v)
	case []any:
		arr := l.CreateTable(len(v), 0)
		for _, item := range v {
			arr.Append(decodeValue(l, item))
		}
		return arr
	case map[string]any:
		tbl := l.CreateTable(0, len(v))
		for key, item := range v {
			tbl.RawSetH(lua.LString(key), decodeValue(l, item))
		}
		return tbl
	}
	return lua.LNil
}

// safeOs is the subset of os Argo CD exposes (time, date).
var safeOs = map[string]lua.LGFunction{
	"time": func(l *lua.LState) int { l.Push(lua.LNumber(time.Now().Unix())); return 1 },
	"date": func(l *lua.LState) int { l.Push(lua.LString(time.Now().Format(time.RFC3339))); return 1 },
}

func health(script string, obj map[string]any) (*healthStatus, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.OsLibName, func(l *lua.LState) int { l.Push(l.RegisterModule(lua.OsLibName, safeOs)); return 1 }},
	} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", decodeValue(l, obj))
	if err := l.DoString(script); err != nil {
		return nil, err
	}
	ret := l.Get(-1)
	if ret.Type() != lua.LTTable {
		return nil, fmt.Errorf("expect table output from Lua script, not %s", ret.Type())
	}
	raw, err := luajson.Encode(ret)
	if err != nil {
		return nil, err
	}
	hs := &healthStatus{}
	if err := json.Unmarshal(raw, hs); err != nil {
		return nil, err
	}
	switch hs.Status {
	case "Unknown", "Progressing", "Suspended", "Healthy", "Degraded", "Missing":
	default:
		return &healthStatus{Status: "Unknown", Message: "Lua returned an invalid health status"}, nil
	}
	return hs, nil
}

func readYAML(path string, into any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return yaml.Unmarshal(b, into)
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: argocd-health <dir holding health.lua and health_test.yaml>")
		os.Exit(2)
	}
	dir := os.Args[1]
	script, err := os.ReadFile(filepath.Join(dir, "health.lua"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var tests testFile
	if err := readYAML(filepath.Join(dir, "health_test.yaml"), &tests); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	failures := 0
	for _, tc := range tests.Tests {
		var obj map[string]any
		got, err := &healthStatus{}, readYAML(filepath.Join(dir, tc.InputPath), &obj)
		if err == nil {
			got, err = health(string(script), obj)
		}
		switch {
		case err != nil:
			failures++
			fmt.Printf("FAIL %s: %v\n", tc.InputPath, err)
		case *got != tc.HealthStatus:
			failures++
			fmt.Printf("FAIL %s: got %+v, want %+v\n", tc.InputPath, *got, tc.HealthStatus)
		default:
			fmt.Printf("ok   %s: %s\n", tc.InputPath, got.Status)
		}
	}
	fmt.Printf("%d case(s), %d failure(s)\n", len(tests.Tests), failures)
	if failures > 0 {
		os.Exit(1)
	}
}
