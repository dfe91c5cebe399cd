import TallyFuzzing

// A normal build: replays corpus files through the target (see FuzzReplay). Built by scripts/fuzz
// with -sanitize=fuzzer and -DFUZZING: a libFuzzer fuzzer of the same target.
#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTarget.calls.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

// SwiftPM links an executable with main defined as <module>_main; libFuzzer's own main is then
// not linked, so this entry point hands the command line to libFuzzer's driver.
@_cdecl("tally_fuzz_calls_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    libFuzzerMain(argc, argv, fuzzOneInput)
}
#else
@main
struct CallsFuzzReplay {
    static func main() {
        FuzzReplay.exitingMain(.calls)
    }
}
#endif
