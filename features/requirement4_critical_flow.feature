Feature: The Critical flow on the DCC's own interface: only the slot owner's signed Pre-Command replaces a slot
  On the DCC's own interface (DCC Boxed's serviceT and serviceS) the DCC does not complete a Critical
  request itself: SRV 6.15.1 with Command Variant 4 is answered with a Pre-Command, the GBCS command the
  DCC would send (CS02b Update Security Credentials); the user signs it with its Organisation
  digital-signing key and sends it back with Command Variant 5 under the same RequestID. The S1SP, or
  the SMETS2 device, checks ownership by verifying that signature with the digital-signing certificate
  in the slot being replaced: that is why only the wrong Network Operator, the holder of that key, can
  make the correction. Not applicable to a target driven through Target Interface v1, which completes
  Critical requests itself.

  @MP107-R1.4
  Scenario Outline: the DCC's Pre-Command for the wrong Network Operator's correction on the <fuel> device of <s1sp> is the CS02b command it asks for
    Given the target speaks the DCC's own interface
    And a commissioned SMETS1 device of <s1sp> supplying <fuel>
    And the DSP feature switch is on
    And <s1sp> has implemented MP107
    And the registered supplier has placed the wrong network operator's certificates in the NetworkOperator slot with SRV 6.21
    When the wrong network operator sends SRV 6.15.1 with the registered network operator's certificates for the NetworkOperator slot
    Then the DCC's Pre-Command is the CS02b command from the wrong network operator to the device carrying the registered network operator's certificates for the NetworkOperator slot
    And the DSP acknowledges it with I99
    And the final outcome is I0
    And SRV 6.24.1 from the registered network operator shows the registered network operator's certificates in the NetworkOperator slot

    Examples:
      | s1sp  | fuel        |
      | S1SP1 | electricity |

  @MP107-R1.3
  Scenario Outline: a Pre-Command signed with a key other than the slot owner's ends in S1VE64 on the <fuel> device of <s1sp>
    The sender is the slot's owner, and its request is signed with its own XML-signing key: only the
    GBCS signature is another organisation's, so only that can make the S1SP refuse.
    Given the target speaks the DCC's own interface
    And a commissioned SMETS1 device of <s1sp> supplying <fuel>
    And the DSP feature switch is on
    And <s1sp> has implemented MP107
    And the registered supplier has placed the wrong network operator's certificates in the NetworkOperator slot with SRV 6.21
    When the wrong network operator sends SRV 6.15.1 with the registered network operator's certificates for the NetworkOperator slot, its Pre-Command signed with the registered network operator's Organisation key
    Then the DSP acknowledges it with I99
    And the S1SP rejects it with S1VE64
    And SRV 6.24.1 from the registered network operator shows the wrong network operator's certificates in the NetworkOperator slot

    Examples:
      | s1sp  | fuel        |
      | S1SP1 | electricity |
      | S1SP2 | gas         |

  @MP107-R3.1
  Scenario Outline: on the SMETS2 <fuel> device a Pre-Command signed with a key other than the slot owner's is refused by the device
    Given the target speaks the DCC's own interface
    And a commissioned SMETS2 device supplying <fuel>
    And the registered supplier has placed the wrong network operator's certificates in the NetworkOperator slot with SRV 6.21
    When the wrong network operator sends SRV 6.15.1 with the registered network operator's certificates for the NetworkOperator slot, its Pre-Command signed with the registered network operator's Organisation key
    Then the DSP acknowledges it with I99
    And the final outcome is not I0
    When the wrong network operator sends SRV 6.15.1 with the registered network operator's certificates for the NetworkOperator slot
    Then the DSP acknowledges it with I99
    And the final outcome is I0

    Examples:
      | fuel        |
      | electricity |

  @MP107-R4.1
  Scenario Outline: a Signed Pre-Command that is not the one the DCC issued under its RequestID is refused and changes nothing: <spoil>
    Given the target speaks the DCC's own interface
    And a commissioned SMETS1 device of S1SP1 supplying electricity
    And the DSP feature switch is on
    And S1SP1 has implemented MP107
    And the registered supplier has placed the wrong network operator's certificates in the NetworkOperator slot with SRV 6.21
    When the wrong network operator sends SRV 6.15.1 with the registered network operator's certificates for the NetworkOperator slot, <spoil>
    Then the DSP refuses it
    And SRV 6.24.1 from the registered network operator shows the wrong network operator's certificates in the NetworkOperator slot

    Examples:
      | spoil                                                                                     |
      | its Pre-Command altered before signing to carry the third network operator's certificates |
      | its Signed Pre-Command altered after signing                                              |
      | its Signed Pre-Command sent under another RequestID                                       |
