package fleet

import (
	"bytes"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// decodeManifest strictly decodes the embedded template name into out.
func decodeManifest(name string, out any) error {
	data, err := Manifest(name)
	if err != nil {
		return err
	}
	if err := DecodeStrict(data, out); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// openShiftObjects are openshift.yaml's service account, Role and
// RoleBinding, moved to namespace ns.
func openShiftObjects(ns string) ([]any, error) {
	data, err := Manifest("openshift.yaml")
	if err != nil {
		return nil, err
	}
	docs := bytes.Split(data, []byte("\n---\n"))
	if len(docs) != 3 {
		return nil, fmt.Errorf("openshift.yaml: %d documents, want 3", len(docs))
	}
	var (
		sa   corev1.ServiceAccount
		role rbacv1.Role
		rb   rbacv1.RoleBinding
	)
	for i, out := range []any{&sa, &role, &rb} {
		if err := DecodeStrict(docs[i], out); err != nil {
			return nil, fmt.Errorf("openshift.yaml: %w", err)
		}
	}
	sa.Namespace, role.Namespace, rb.Namespace = ns, ns, ns
	for i := range rb.Subjects {
		rb.Subjects[i].Namespace = ns
	}
	return []any{&sa, &role, &rb}, nil
}

// ParseToleration reads KEY[=VALUE][:EFFECT]: with a value the taint's
// value must match (Equal), without one any value does (Exists); without
// an effect every effect of the key is tolerated.
func ParseToleration(s string) (corev1.Toleration, error) {
	kv, effect, _ := strings.Cut(s, ":")
	key, value, hasValue := strings.Cut(kv, "=")
	t := corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists}
	if hasValue {
		t.Operator, t.Value = corev1.TolerationOpEqual, value
	}
	if errs := validation.IsQualifiedName(key); len(errs) > 0 {
		return t, fmt.Errorf("toleration %q: key %q: %s", s, key, errs[0])
	}
	if hasValue {
		if errs := validation.IsValidLabelValue(value); len(errs) > 0 {
			return t, fmt.Errorf("toleration %q: value %q: %s", s, value, errs[0])
		}
	}
	switch e := corev1.TaintEffect(effect); e {
	case "", corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		t.Effect = e
	default:
		return t, fmt.Errorf("toleration %q: effect %q: want NoSchedule, PreferNoSchedule or NoExecute", s, effect)
	}
	return t, nil
}
