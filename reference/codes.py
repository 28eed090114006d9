"""Response codes the reference uses (SPEC §2), plus the ones it defines itself."""

I0 = "I0"      # success: the final outcome
I99 = "I99"    # acknowledgement: accepted by the DSP and sent on
E1 = "E1"      # invalid User / User Role, or signature does not verify
E2 = "E2"      # User Role not permitted to send this SRV
E3 = "E3"      # the request cannot be transformed: no GBCS use case (e.g. a Supplier replacing the NetworkOperator slot)
E4 = "E4"      # Registration Data check failed
E5 = "E5"      # Device SMI status incompatible
E11 = "E11"    # request not compatible with the device type
E12 = "E12"    # Command Variant not valid for this SRV
E13 = "E13"    # the DCC's own interface: request type not valid for the URL (e.g. CV 4 sent to serviceS)
E19 = "E19"    # Device doesn't exist

S1VE4 = "S1VE4"    # S1SP: Registration Data check failed (SRPD 16.1)
S1VE64 = "S1VE64"  # S1SP: sender's credential is not on the device (S1SR 4.2)

# Reference-defined codes (SPEC §4 lets the reference choose them; features assert only that the
# outcome is not I0 and the slot is unchanged):
S1VE_INVALID_CERTIFICATE = "S1VE30"
"""S1SP: a replacement certificate is not a valid Organisation certificate of the right role and
key usage chaining to the SMKI (or is expired with time-based checks on)."""

E_SMETS2_DEVICE_REJECTED = "E50"
"""SMETS2: the device refused the command because the sender is not the Known Remote Party in the
slot being replaced. A real DCC returns the device's GBCS response; the reference reports the
refusal as this ResponseCode in the final Response."""
