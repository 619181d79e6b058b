package bench

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// TestMain serves the ceiling instead of running the tests when Run
// re-executes this test binary as its ceiling process (os.Executable is
// the test binary here), as grantd's hidden subcommand does.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == CeilingCommand {
		if err := ServeCeiling(context.Background(), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if len(os.Args) > 1 && os.Args[1] == testCeilingParent {
		// TestCeilingChildDiesWithParent's parent: it starts a ceiling
		// child, says the child's pid and URL, and waits to be killed.
		c, err := startCeilingProcess(context.Background())
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(c.cmd.Process.Pid, c.url)
		time.Sleep(time.Hour)
	}
	os.Exit(m.Run())
}

// testCeilingParent is the argument that makes this test binary a parent
// of a ceiling child, to be killed.
const testCeilingParent = "test-ceiling-parent"
