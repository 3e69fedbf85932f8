package account_test

import (
	"strings"
	"testing"

	"github.com/resayil/portal/portal-api/internal/account"
)

func TestPasswordProblem(t *testing.T) {
	for pw, want := range map[string]string{
		"plum-orbit-cactus-42":  "",
		"short-pw1":             "Must be at least 10 characters.",
		"ٌكلمة-سر":              "Must be at least 10 characters.",
		strings.Repeat("é", 37): "Must be at most 72 bytes.",
		"password123":           "This password is too common; choose one that is harder to guess.",
		"PASSWORD123":           "This password is too common; choose one that is harder to guess.",
		"1234567890":            "This password is too common; choose one that is harder to guess.",
		"Qwertyuiop":            "This password is too common; choose one that is harder to guess.",
		"iloveyou123":           "This password is too common; choose one that is harder to guess.",
		"Kuwait@2025":           "This password is too common; choose one that is harder to guess.",
	} {
		if got := account.PasswordProblem(pw); got != want {
			t.Errorf("PasswordProblem(%q) = %q, want %q", pw, got, want)
		}
	}
}

func TestCommonPasswordList_IsLarge(t *testing.T) {
	n := 0
	for _, probe := range []string{"qwerty123456", "football2024", "sunshine123", "princess1234", "dragon12345", "1q2w3e4r5t", "welcome123", "admin12345"} {
		if account.IsCommonPassword(probe) {
			n++
		}
	}
	if n != 8 {
		t.Errorf("only %d of 8 well-known passwords are on the list", n)
	}
}

func TestPhoneProblem(t *testing.T) {
	for phone, ok := range map[string]bool{
		"+96512345678":      true,
		"+96550000000":      true,
		"+14155550123":      true,
		"+447911123456":     true,
		"96512345678":       false,
		"+965 1234 5678":    false,
		"+965-12345678":     false,
		"+0965123456":       false,
		"+9651234":          false, // too short for Kuwait
		"+9651234567890":    false, // too long for Kuwait
		"+1234567890123456": false,
		"":                  false,
	} {
		if got := account.PhoneProblem(phone) == ""; got != ok {
			t.Errorf("PhoneProblem(%q) ok=%v, want %v", phone, got, ok)
		}
	}
}
