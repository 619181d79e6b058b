package password

import (
	"strings"
	"testing"
)

// cheap keeps the tests fast; the format is the same.
var cheap = Params{Time: 1, Memory: 8 * 1024, Threads: 1, KeyLen: 32}

func TestHashVerify(t *testing.T) {
	h := Hash("correct horse battery staple", cheap)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=8192,t=1,p=1$") {
		t.Fatalf("hash %q is not a PHC argon2id string", h)
	}
	if h2 := Hash("correct horse battery staple", cheap); h2 == h {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	ok, err := Verify("correct horse battery staple", h)
	if err != nil || !ok {
		t.Fatalf("Verify(right) = %v, %v; want true, nil", ok, err)
	}
	ok, err = Verify("correct horse battery stapler", h)
	if err != nil || ok {
		t.Fatalf("Verify(wrong) = %v, %v; want false, nil", ok, err)
	}
}

func TestVerifyMalformed(t *testing.T) {
	for _, phc := range []string{
		"",
		"plain",
		"$argon2i$v=19$m=8192,t=1,p=1$c2FsdA$a2V5",
		"$argon2id$v=18$m=8192,t=1,p=1$c2FsdA$a2V5",
		"$argon2id$v=19$m=x,t=1,p=1$c2FsdA$a2V5",
		"$argon2id$v=19$m=8192,t=1,p=1$!!$a2V5",
		"$argon2id$v=19$m=8192,t=1,p=0$c2FsdA$a2V5",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdA$a2V5",
	} {
		if ok, err := Verify("x", phc); ok || err == nil {
			t.Errorf("Verify(%q) = %v, %v; want false, ErrMalformed", phc, ok, err)
		}
	}
}
