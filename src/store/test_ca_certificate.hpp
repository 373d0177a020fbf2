// For the store's unit tests: a CA certificate (ECDSA P-256, basic constraint CA, valid until
// 2126) that Kong's checks of a ca_certificates entity accept.
#pragma once

namespace portico::store::testing {

inline constexpr const char* kTestCaPem =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBpTCCAUugAwIBAgIUR9d4litQSK2M7+lIFUtWqNiEgQowCgYIKoZIzj0EAwIw\n"
    "HzEdMBsGA1UEAwwUUG9ydGljbyBVbml0IFRlc3QgQ0EwIBcNMjYxMjAzMDgyODQy\n"
    "WhgPMjEyNjExMDkwODI4NDJaMB8xHTAbBgNVBAMMFFBvcnRpY28gVW5pdCBUZXN0\n"
    "IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEPimTMeZL+bZ/U1jQ/6yCL4/i\n"
    "mLRvQfrA1/tR3i45S8xuEMFcPqoPhhRqUaEkKRFppy29op/F7fr60q3On5Yeg6Nj\n"
    "MGEwHQYDVR0OBBYEFM9kUttLmBv1SecydHtB6FuCUQPaMB8GA1UdIwQYMBaAFM9k\n"
    "UttLmBv1SecydHtB6FuCUQPaMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQD\n"
    "AgEGMAoGCCqGSM49BAMCA0gAMEUCIQDkcIiyvd5qtWeFiJqd4/ZLmxaMgyzGB6H7\n"
    "GD6ol2eM8gIgfdbMZstTROqCuNKIdAcCARIL0pqByPsdHY7q8vIaREE=\n"
    "-----END CERTIFICATE-----\n";

}  // namespace portico::store::testing
