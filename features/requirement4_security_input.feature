Feature: Every request is signed by its sender, and bad input gets a clear answer and changes nothing
  The harness's own promises (MP107-R4): what the DSP must refuse before any MP107 logic runs.

  @MP107-R4.1
  Scenario Outline: a request signed by someone other than its Business Originator is refused (<fuel>)
    Given a commissioned SMETS1 device of S1SP1 supplying <fuel>
    And the registered supplier has placed the wrong network operator's certificates in the NetworkOperator slot with SRV 6.21
    When the wrong network operator sends SRV 6.15.1 with the registered network operator's certificates for the NetworkOperator slot, signed with the registered network operator's key
    Then the DSP rejects it with E1
    And SRV 6.24.1 from the registered network operator shows the wrong network operator's certificates in the NetworkOperator slot

    Examples:
      | fuel        |
      | electricity |
      | gas         |

  @MP107-R4.1
  Scenario: a request altered after it was signed is refused
    Given a commissioned SMETS1 device of S1SP1 supplying electricity
    And the registered supplier has placed the wrong network operator's certificates in the NetworkOperator slot with SRV 6.21
    When the wrong network operator sends SRV 6.15.1 with the registered network operator's certificates for the NetworkOperator slot, altered after signing
    Then the DSP rejects it with E1
    And SRV 6.24.1 from the registered network operator shows the wrong network operator's certificates in the NetworkOperator slot

  @MP107-R4.2
  Scenario: the correct request the hostile inputs spoil is accepted and changes the slot
    The outlines below each spoil exactly one thing of this request, so a refusal can only be for that thing.
    Given a commissioned SMETS1 device of S1SP1 supplying electricity
    When the registered network operator sends the correct request the hostile inputs spoil
    Then the DSP acknowledges it with I99
    And the final outcome is I0
    And SRV 6.24.1 from the registered network operator shows the third network operator's certificates in the NetworkOperator slot

  @MP107-R4.2
  Scenario Outline: malformed or hostile XML is refused and changes nothing: <input>
    Given a commissioned SMETS1 device of S1SP1 supplying electricity
    When the registered network operator sends <input>
    Then the DSP refuses it
    And SRV 6.24.1 from the registered network operator shows the registered network operator's certificates in the NetworkOperator slot

    Examples:
      | input                                                |
      | a request that is not well-formed XML                |
      | a request larger than the DSP accepts                |
      | a request larger than the HTTP front door accepts    |
      | a request declaring an external entity               |
      | a request declaring an external parameter entity     |
      | a request expanding entities a billion times         |
      | a request with an XInclude                           |
      | a request with a DOCTYPE and an internal subset      |
      | a request nested 10,000 elements deep                |
      | a request with 5,000 attributes on one element       |
      | a request with a text node of a million characters   |
      | a request declared UTF-16 but encoded as UTF-8       |
      | a request with a NUL byte in a value                 |
      | a request with a UTF-16 byte-order mark before UTF-8 |
      | a request with a byte-order mark before its root     |
      | a request with CDATA markup in a signed value        |
      | a request in UTF-16 declared as UTF-8                |

  @MP107-R4.2
  Scenario Outline: XML rewritten in a way XML allows is refused, or means exactly what was signed: <input>
    Given a commissioned SMETS1 device of S1SP1 supplying electricity
    When the registered network operator sends <input>
    Then the DSP refuses it and nothing changes, or it is treated exactly as the correct request

    Examples:
      | input                                             |
      | a request encoded as UTF-16                       |
      | a request encoded as UTF-32                       |
      | a request with a UTF-8 byte-order mark            |
      | a request with an unchanged signed value in CDATA |
      | a request with a comment inside a signed value    |
      | a request with a comment inside a signed certificate |

  @MP107-R4.1
  Scenario Outline: a request whose signature does not bind it to its sender is refused and changes nothing: <input>
    Given a commissioned SMETS1 device of S1SP1 supplying electricity
    When the registered network operator sends <input>
    Then the DSP refuses it
    And SRV 6.24.1 from the registered network operator shows the registered network operator's certificates in the NetworkOperator slot

    Examples:
      | input                                                               |
      | a request whose signature covers another element                    |
      | a request without a signature                                       |
      | a request with two signatures                                       |
      | a request whose digest was altered                                  |
      | a request whose SignatureValue was altered                          |
      | a request signed with ecdsa-sha1 over a sha1 digest                 |
      | a request whose SignatureMethod claims rsa-sha1                     |
      | a request whose signature references an external resource           |
      | a request signed by another DCC User                                |
      | a request signed with a key the DCC does not know                   |
      | a request whose Command Variant was changed after signing           |
      | a request whose replacement certificates were swapped after signing |

  @MP107-R4.1
  Scenario Outline: a request carrying more than its signature covers is refused and changes nothing: <input>
    Well-formed XML, so not R4.2's malformed input: what is wrong is that the signature (Reference
    URI="", the whole document) does not cover every node the request was sent with.
    Given a commissioned SMETS1 device of S1SP1 supplying electricity
    When the registered network operator sends <input>
    Then the DSP refuses it
    And SRV 6.24.1 from the registered network operator shows the registered network operator's certificates in the NetworkOperator slot

    Examples:
      | input                                                                      |
      | a request with a processing instruction added before its root after signing |

  @MP107-R4.1 @MP107-R4.2
  Scenario Outline: a request whose signature binds it to its sender whatever else its KeyInfo says is refused, or means exactly what was signed: <input>
    The signature verifies with the sender's own XML-signing certificate; only the KeyInfo hint names
    another user's. A DSP that verifies with the sender's certificate may accept it as the request it
    is, one that checks KeyInfo may refuse it: either binds the request to its sender (R4.1); what it
    must not do is act on it as anything but the correct request (R4.2).
    Given a commissioned SMETS1 device of S1SP1 supplying electricity
    When the registered network operator sends <input>
    Then the DSP refuses it and nothing changes, or it is treated exactly as the correct request

    Examples:
      | input                                                    |
      | a request whose KeyInfo names another user's certificate |

  @MP107-R4.3
  Scenario Outline: a request whose OriginatorCounter does not rise is refused and changes nothing: <input>
    Given a commissioned SMETS1 device of S1SP1 supplying electricity
    When the registered network operator sends <input>
    Then the DSP refuses it
    And SRV 6.24.1 from the registered network operator shows the registered network operator's certificates in the NetworkOperator slot

    Examples:
      | input                                                           |
      | the same 6.24.1 sent twice                                      |
      | a request reusing the OriginatorCounter of one already accepted |
      | a request with an OriginatorCounter below one already accepted  |
      | a request with OriginatorCounter 0                              |

  @MP107-R4.2
  Scenario Outline: a request with a malformed field is refused and changes nothing: <input>
    Given a commissioned SMETS1 device of S1SP1 supplying electricity
    When the registered network operator sends <input>
    Then the DSP refuses it
    And SRV 6.24.1 from the registered network operator shows the registered network operator's certificates in the NetworkOperator slot

    Examples:
      | input                                                        |
      | a request with an unknown Service Reference Variant          |
      | a request whose RequestID holds a bad EUI-64                 |
      | a request whose OriginatorCounter is not a number            |
      | a request whose OriginatorCounter exceeds 64 bits            |
      | a request whose RequestID has two parts                      |
      | a request whose RequestID targets a DCC User, not a device   |
      | a request with an unknown Command Variant                    |
      | a request without a ServiceReference                         |
      | a request whose ServiceReference disagrees with its variant  |
      | a request with an unknown RemotePartyRole                    |
      | a request for the Root slot                                  |
      | a request with an empty Body                                 |
      | a request with the body of another Service Reference Variant |
      | a request with an element DUIS does not define               |
      | a request with base64 garbage for a certificate              |
      | a request whose root element is a Response                   |
      | a request in a namespace other than DUIS's                   |

  @MP107-R4.2
  Scenario: a request to a device that does not exist gets E19
    Given a commissioned SMETS1 device of S1SP1 supplying electricity
    When the registered network operator sends SRV 6.24.1 for the NetworkOperator slot of a device that does not exist
    Then the DSP rejects it with E19

  @MP107-R4.2
  Scenario: a Critical request with a non-critical Command Variant gets E12
    Given a commissioned SMETS1 device of S1SP1 supplying electricity
    When the registered network operator sends SRV 6.15.1 with Command Variant 1 with the registered network operator's certificates for the NetworkOperator slot
    Then the DSP rejects it with E12

  @MP107-R4.2
  Scenario: a request to a device of the wrong type gets E11
    Given a commissioned SMETS1 communications hub of S1SP1 supplying electricity
    When the registered network operator sends SRV 6.24.1 for the NetworkOperator slot
    Then the DSP rejects it with E11

  @MP107-R4.2
  Scenario: a request to a device whose SMI status does not allow it gets E5
    Given a SMETS1 device of S1SP1 supplying electricity and SMI status Decommissioned
    When the registered network operator sends SRV 6.24.1 for the NetworkOperator slot
    Then the DSP rejects it with E5

  @MP107-R4.2
  Scenario Outline: replacement certificates that are not a valid NetworkOperator pair are refused: <problem>
    Given a commissioned SMETS1 device of S1SP1 supplying electricity
    When the registered network operator sends SRV 6.15.1 for the NetworkOperator slot with <problem>
    Then the DSP acknowledges it with I99
    And the final outcome is not I0
    And SRV 6.24.1 from the registered network operator shows the registered network operator's certificates in the NetworkOperator slot

    Examples:
      | problem                                         |
      | the registered supplier's certificates          |
      | its own certificates in swapped key usages      |
      | certificates from an SMKI the DCC does not know |
      | certificates without an Entity Identifier       |
      | certificates without a role code                |
      | certificates of the XML-signing role            |
      | certificates on the P-384 curve                 |
      | expired certificates, with time-based checks on |
      | certificates with both key usages               |
      | certificates of two different organisations     |
      | a digital signing certificate that is not DER   |

  @MP107-R4.1
  Scenario: a request from a User ID the DCC does not know is refused
    Given a commissioned SMETS1 device of S1SP1 supplying electricity
    When a user the DCC does not know sends SRV 6.24.1 for the NetworkOperator slot
    Then the DSP rejects it with E1

  @MP107-R4.2 @MP107-R3.1
  Scenario: a SMETS2 device refuses replacement certificates of the wrong role
    Given a commissioned SMETS2 device supplying electricity
    When the registered network operator sends SRV 6.15.1 for the NetworkOperator slot with the registered supplier's certificates
    Then the DSP acknowledges it with I99
    And the final outcome is not I0
    When the registered network operator sends SRV 6.15.1 with the registered network operator's certificates for the NetworkOperator slot
    Then the final outcome is I0

  @MP107-R4.3
  Scenario: a replayed 6.21 cannot undo the wrong Network Operator's correction
    Given a commissioned SMETS1 device of S1SP1 supplying electricity
    And the DSP feature switch is on
    And the registered supplier has placed the wrong network operator's certificates in the NetworkOperator slot with SRV 6.21
    And the wrong network operator has placed the registered network operator's certificates in the NetworkOperator slot with SRV 6.15.1
    When the registered supplier's SRV 6.21 is sent again unchanged
    Then the DSP rejects it with E1
    And SRV 6.24.1 from the registered network operator shows the registered network operator's certificates in the NetworkOperator slot

  @MP107-R4.3
  Scenario: a request whose OriginatorCounter is below one already accepted is refused
    Given a commissioned SMETS1 device of S1SP2 supplying gas
    When the registered network operator sends SRV 6.24.1 for the NetworkOperator slot with an OriginatorCounter lower than its last
    Then the DSP rejects it with E1
