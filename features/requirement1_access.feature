Feature: SECMP0107 Requirement 1 - who keeps the Registration Data check, and who may send 6.15.1 at all
  The exemption (SRPD 6.2(d)) is for Network Operators replacing NetworkOperator credentials on
  SMETS1 devices only. Suppliers keep the check; a Supplier cannot replace the NetworkOperator slot
  at all (no GBCS use case); roles that may not send 6.15.1 are refused whatever the switch; other
  SRVs from a Network Operator keep the check; 6.21 still needs the registered Supplier.

  @MP107-R1.7 @MP107-R1.9 @FIA-5.2
  Scenario Outline: a Supplier that is not the registered one is refused by the DSP on the <fuel> device of <s1sp>
    Given a commissioned SMETS1 device of <s1sp> supplying <fuel>
    When the other supplier sends SRV 6.15.1 with the other supplier's certificates for the Supplier slot
    Then the DSP rejects it with E4

    Examples:
      | s1sp  | fuel        |
      | S1SP1 | electricity |
      | S1SP1 | gas         |
      | S1SP2 | electricity |
      | S1SP2 | gas         |
      | S1SP3 | electricity |
      | S1SP3 | gas         |

  @MP107-R1.12 @MP107-R1.9 @FIA-5.2
  Scenario Outline: the registered Supplier cannot use 6.15.1 to correct the Network Operator's slot on the <fuel> device of <s1sp>
    Given a commissioned SMETS1 device of <s1sp> supplying <fuel>
    And the registered supplier has placed the wrong network operator's certificates in the NetworkOperator slot with SRV 6.21
    When the registered supplier sends SRV 6.15.1 with the registered network operator's certificates for the NetworkOperator slot
    Then the DSP rejects it with E3
    And SRV 6.24.1 from the registered network operator shows the wrong network operator's certificates in the NetworkOperator slot

    Examples:
      | s1sp  | fuel        |
      | S1SP1 | electricity |
      | S1SP1 | gas         |
      | S1SP2 | electricity |
      | S1SP2 | gas         |
      | S1SP3 | electricity |
      | S1SP3 | gas         |

  @MP107-R1.7 @MP107-R1.9
  Scenario Outline: the registered Supplier still updates its own credentials on the <fuel> device of <s1sp>
    Given a commissioned SMETS1 device of <s1sp> supplying <fuel>
    When the registered supplier sends SRV 6.15.1 with the registered supplier's certificates for the Supplier slot
    Then the DSP acknowledges it with I99
    And the final outcome is I0

    Examples:
      | s1sp  | fuel        |
      | S1SP1 | electricity |
      | S1SP1 | gas         |
      | S1SP2 | electricity |
      | S1SP2 | gas         |
      | S1SP3 | electricity |
      | S1SP3 | gas         |

  @MP107-R1.8 @FIA-5.2
  Scenario Outline: the <party> may not send 6.15.1 to the <fuel> device of <s1sp>, with the feature switch as it is
    Given a commissioned SMETS1 device of <s1sp> supplying <fuel>
    When the <party> sends SRV 6.15.1 with the registered network operator's certificates for the NetworkOperator slot
    Then the DSP rejects it with E2
    And SRV 6.24.1 from the registered network operator shows the registered network operator's certificates in the NetworkOperator slot

    Examples:
      | party           | s1sp  | fuel        |
      | export supplier | S1SP1 | electricity |
      | other user      | S1SP2 | gas         |

  @MP107-R1.8 @FIA-5.2
  Scenario Outline: the <party> may not send 6.15.1, with the feature switch <setting>
    Given a commissioned SMETS1 device of S1SP1 supplying electricity
    And the DSP feature switch is <setting>
    When the <party> sends SRV 6.15.1 with the registered network operator's certificates for the NetworkOperator slot
    Then the DSP rejects it with E2

    Examples:
      | party           | setting |
      | export supplier | on      |
      | export supplier | off     |
      | other user      | on      |
      | other user      | off     |

  @MP107-R1.11 @MP107-R1.9
  Scenario Outline: with the DSP feature switch off the wrong Network Operator gets E4 on the <fuel> device of <s1sp>
    Given a commissioned SMETS1 device of <s1sp> supplying <fuel>
    And the registered supplier has placed the wrong network operator's certificates in the NetworkOperator slot with SRV 6.21
    And the DSP feature switch is off
    When the wrong network operator sends SRV 6.15.1 with the registered network operator's certificates for the NetworkOperator slot
    Then the DSP rejects it with E4
    And SRV 6.24.1 from the registered network operator shows the wrong network operator's certificates in the NetworkOperator slot

    Examples:
      | s1sp  | fuel        |
      | S1SP1 | electricity |
      | S1SP1 | gas         |
      | S1SP2 | electricity |
      | S1SP2 | gas         |
      | S1SP3 | electricity |
      | S1SP3 | gas         |

  @MP107-R3.2
  Scenario Outline: 6.24.1 from a Network Operator that is not registered keeps the check on the <fuel> device of <s1sp>
    Given a commissioned SMETS1 device of <s1sp> supplying <fuel>
    And the registered supplier has placed the wrong network operator's certificates in the NetworkOperator slot with SRV 6.21
    When the wrong network operator sends SRV 6.24.1 for the NetworkOperator slot
    Then the DSP rejects it with E4

    Examples:
      | s1sp  | fuel        |
      | S1SP1 | electricity |
      | S1SP1 | gas         |
      | S1SP2 | electricity |
      | S1SP2 | gas         |
      | S1SP3 | electricity |
      | S1SP3 | gas         |

  @MP107-R3.3
  Scenario Outline: 6.21 still needs the registered Supplier on the <fuel> device of <s1sp>
    Given a commissioned SMETS1 device of <s1sp> supplying <fuel>
    When the other supplier sends SRV 6.21 with the wrong network operator's certificates for the NetworkOperator slot
    Then the DSP rejects it with E4
    And SRV 6.24.1 from the registered network operator shows the registered network operator's certificates in the NetworkOperator slot

    Examples:
      | s1sp  | fuel        |
      | S1SP1 | electricity |
      | S1SP1 | gas         |
      | S1SP2 | electricity |
      | S1SP2 | gas         |
      | S1SP3 | electricity |
      | S1SP3 | gas         |
