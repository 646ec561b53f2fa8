package vault

import "github.com/strongroom/strongroom/vault/projects"

// The projects domain's types (vault/projects), under the names callers of
// the vault use.
type (
	Project              = projects.Project
	ProjectRequest       = projects.ProjectRequest
	ProjectKey           = projects.ProjectKey
	ProjectKeyRequest    = projects.ProjectKeyRequest
	ProjectCaller        = projects.ProjectCaller
	PaymentMethod        = projects.PaymentMethod
	PaymentMethodCard    = projects.PaymentMethodCard
	PaymentMethodPage    = projects.PaymentMethodPage
	PaymentMethodRequest = projects.PaymentMethodRequest
	CardDetails          = projects.CardDetails
)

// DefaultCVCRetention is how long a payment method's cvc is kept when
// Settings.CVCRetention is zero.
const DefaultCVCRetention = projects.DefaultCVCRetention
