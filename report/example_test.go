package report_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/goinfra-dev/goinfra/report"
)

// Two shards' `goinfra --json … exec` output, merged into the output and
// exit status of one run over all their hosts.
func ExampleMerge() {
	shard1 := `{"host":"web3","success":true,"exit_code":0,"stdout":"up","stderr":"","duration_s":0.2,"error":null}
{"host":"web1","success":true,"exit_code":0,"stdout":"up","stderr":"","duration_s":0.1,"error":null}
`
	shard2 := `{"host":"web2","success":false,"exit_code":1,"stdout":"","stderr":"","duration_s":0.1,"error":"web2: command failed with exit code 1"}
`
	var reports [][]report.Line
	for name, text := range map[string]string{"shard1.jsonl": shard1, "shard2.jsonl": shard2} {
		lines, err := report.Read(strings.NewReader(text), name)
		if err != nil {
			fmt.Println(err)
			return
		}
		reports = append(reports, lines)
	}
	merged, err := report.Merge(reports...)
	if err != nil {
		fmt.Println(err)
		return
	}
	report.Write(os.Stdout, merged)
	fmt.Println("exit status", report.ExitStatus(merged), "failed:", report.Failed(merged))
	// Output:
	// {"host":"web1","success":true,"exit_code":0,"stdout":"up","stderr":"","duration_s":0.1,"error":null}
	// {"host":"web2","success":false,"exit_code":1,"stdout":"","stderr":"","duration_s":0.1,"error":"web2: command failed with exit code 1"}
	// {"host":"web3","success":true,"exit_code":0,"stdout":"up","stderr":"","duration_s":0.2,"error":null}
	// exit status 1 failed: [web2]
}
