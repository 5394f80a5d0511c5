package rendezvous

import (
	"fmt"
	"testing"
)

func TestOwnerMovesFewKeys(t *testing.T) {
	const n = 300
	moved, toC := 0, 0
	for k := range n {
		key := fmt.Sprint(k)
		before, after := Owner([]string{"a", "b"}, key), Owner([]string{"c", "a", "b"}, key)
		if before != after {
			moved++
			if after == "c" {
				toC++
			}
		}
	}
	if moved != toC {
		t.Fatalf("%d keys moved between old members; only moves to the new member are allowed", moved-toC)
	}
	if toC < n/5 || toC > n/2 {
		t.Fatalf("%d of %d keys moved to the new member, want about a third", toC, n)
	}
	if Owner(nil, "x") != "" {
		t.Fatal("no members must own nothing")
	}
}
