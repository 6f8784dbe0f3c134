//go:build !purego

#include "textflag.h"

// func addMulVVWADX(z, x *uint64, n int, y uint64) (carry uint64)
//
// z[0:n] += x[0:n]·y, n a positive multiple of 4, with MULX and two
// carry chains: CF (ADCX) carries the high word of one product into the
// next limb, OF (ADOX) the sum with z. After each block of eight (or
// four) limbs both chains are folded into the high word, which cannot
// overflow (the value above the block is below 2⁶⁴), so that the loop's
// own arithmetic may clobber the flags.
TEXT ·addMulVVWADX(SB), NOSPLIT, $0-40
	MOVQ z+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ y+24(FP), DX
	XORQ BX, BX
	XORQ R10, R10
	CMPQ CX, $8
	JLT  four

eight:
	XORQ  AX, AX
	MULXQ 0(SI), R8, R9
	ADCXQ BX, R8
	ADOXQ 0(DI), R8
	MOVQ  R8, 0(DI)
	MULXQ 8(SI), R8, BX
	ADCXQ R9, R8
	ADOXQ 8(DI), R8
	MOVQ  R8, 8(DI)
	MULXQ 16(SI), R8, R9
	ADCXQ BX, R8
	ADOXQ 16(DI), R8
	MOVQ  R8, 16(DI)
	MULXQ 24(SI), R8, BX
	ADCXQ R9, R8
	ADOXQ 24(DI), R8
	MOVQ  R8, 24(DI)
	MULXQ 32(SI), R8, R9
	ADCXQ BX, R8
	ADOXQ 32(DI), R8
	MOVQ  R8, 32(DI)
	MULXQ 40(SI), R8, BX
	ADCXQ R9, R8
	ADOXQ 40(DI), R8
	MOVQ  R8, 40(DI)
	MULXQ 48(SI), R8, R9
	ADCXQ BX, R8
	ADOXQ 48(DI), R8
	MOVQ  R8, 48(DI)
	MULXQ 56(SI), R8, BX
	ADCXQ R9, R8
	ADOXQ 56(DI), R8
	MOVQ  R8, 56(DI)
	ADCXQ R10, BX
	ADOXQ R10, BX
	ADDQ  $64, SI
	ADDQ  $64, DI
	SUBQ  $8, CX
	CMPQ  CX, $8
	JGE   eight
	TESTQ CX, CX
	JZ    done

four:
	XORQ  AX, AX
	MULXQ 0(SI), R8, R9
	ADCXQ BX, R8
	ADOXQ 0(DI), R8
	MOVQ  R8, 0(DI)
	MULXQ 8(SI), R8, BX
	ADCXQ R9, R8
	ADOXQ 8(DI), R8
	MOVQ  R8, 8(DI)
	MULXQ 16(SI), R8, R9
	ADCXQ BX, R8
	ADOXQ 16(DI), R8
	MOVQ  R8, 16(DI)
	MULXQ 24(SI), R8, BX
	ADCXQ R9, R8
	ADOXQ 24(DI), R8
	MOVQ  R8, 24(DI)
	ADCXQ R10, BX
	ADOXQ R10, BX

done:
	MOVQ BX, carry+32(FP)
	RET

// func redcADX(t, n *uint64, nl int, n0 uint64) (carry uint64)
//
// The rows of a Montgomery reduction: for i from 0 to nl-1, with
// m = t[i]·n0 mod 2⁶⁴, t[i:i+nl] += n[0:nl]·m and the carry goes into
// t[i+nl], whose own carry goes to the next row; the last one is
// returned. nl is a positive multiple of 8. Each row is the loop of
// addMulVVWADX, indexed by CX from the row's start.
TEXT ·redcADX(SB), NOSPLIT, $0-40
	MOVQ t+0(FP), DI
	MOVQ n+8(FP), SI
	MOVQ nl+16(FP), AX
	MOVQ AX, R12
	SHLQ $3, R12
	MOVQ n0+24(FP), R13
	XORQ R10, R10
	XORQ R11, R11

row:
	MOVQ  (DI), DX
	IMULQ R13, DX
	XORQ  BX, BX
	XORQ  CX, CX

inner:
	XORQ  R8, R8
	MULXQ 0(SI)(CX*1), R8, R9
	ADCXQ BX, R8
	ADOXQ 0(DI)(CX*1), R8
	MOVQ  R8, 0(DI)(CX*1)
	MULXQ 8(SI)(CX*1), R8, BX
	ADCXQ R9, R8
	ADOXQ 8(DI)(CX*1), R8
	MOVQ  R8, 8(DI)(CX*1)
	MULXQ 16(SI)(CX*1), R8, R9
	ADCXQ BX, R8
	ADOXQ 16(DI)(CX*1), R8
	MOVQ  R8, 16(DI)(CX*1)
	MULXQ 24(SI)(CX*1), R8, BX
	ADCXQ R9, R8
	ADOXQ 24(DI)(CX*1), R8
	MOVQ  R8, 24(DI)(CX*1)
	MULXQ 32(SI)(CX*1), R8, R9
	ADCXQ BX, R8
	ADOXQ 32(DI)(CX*1), R8
	MOVQ  R8, 32(DI)(CX*1)
	MULXQ 40(SI)(CX*1), R8, BX
	ADCXQ R9, R8
	ADOXQ 40(DI)(CX*1), R8
	MOVQ  R8, 40(DI)(CX*1)
	MULXQ 48(SI)(CX*1), R8, R9
	ADCXQ BX, R8
	ADOXQ 48(DI)(CX*1), R8
	MOVQ  R8, 48(DI)(CX*1)
	MULXQ 56(SI)(CX*1), R8, BX
	ADCXQ R9, R8
	ADOXQ 56(DI)(CX*1), R8
	MOVQ  R8, 56(DI)(CX*1)
	ADCXQ R10, BX
	ADOXQ R10, BX
	ADDQ  $64, CX
	CMPQ  CX, R12
	JLT   inner

	// t[i+nl] += carry of the row + carry of the previous one.
	MOVQ (DI)(R12*1), R8
	NEGQ R11
	ADCQ BX, R8
	MOVQ R8, (DI)(R12*1)
	SBBQ R11, R11
	NEGQ R11
	ADDQ $8, DI
	DECQ AX
	JNZ  row
	MOVQ R11, carry+32(FP)
	RET

// func sqrRowsADX(t, x *uint64, nl int)
//
// The products of distinct limbs of a square: for i from 0 to nl-2,
// t[2i+1:i+nl] += x[i+1:nl]·x[i] and t[i+nl] = the carry, which expects
// t[i+nl] to be zero when row i starts (as it is for a t that starts
// zero). nl is at least 2. Each row runs by blocks of four limbs, as in
// addMulVVWADX, then limb by limb.
TEXT ·sqrRowsADX(SB), NOSPLIT, $0-24
	MOVQ t+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ nl+16(FP), R12
	ADDQ $8, DI
	ADDQ $8, SI
	DECQ R12
	SHLQ $3, R12
	XORQ R10, R10

row:
	MOVQ -8(SI), DX
	XORQ BX, BX
	XORQ CX, CX
	MOVQ R12, R13
	ANDQ $-32, R13
	JZ   tail

block:
	XORQ  R8, R8
	MULXQ 0(SI)(CX*1), R8, R9
	ADCXQ BX, R8
	ADOXQ 0(DI)(CX*1), R8
	MOVQ  R8, 0(DI)(CX*1)
	MULXQ 8(SI)(CX*1), R8, BX
	ADCXQ R9, R8
	ADOXQ 8(DI)(CX*1), R8
	MOVQ  R8, 8(DI)(CX*1)
	MULXQ 16(SI)(CX*1), R8, R9
	ADCXQ BX, R8
	ADOXQ 16(DI)(CX*1), R8
	MOVQ  R8, 16(DI)(CX*1)
	MULXQ 24(SI)(CX*1), R8, BX
	ADCXQ R9, R8
	ADOXQ 24(DI)(CX*1), R8
	MOVQ  R8, 24(DI)(CX*1)
	ADCXQ R10, BX
	ADOXQ R10, BX
	ADDQ  $32, CX
	CMPQ  CX, R13
	JLT   block

tail:
	CMPQ CX, R12
	JGE  rowdone
	MULXQ (SI)(CX*1), R8, R9
	ADDQ  BX, R8
	ADCQ  $0, R9
	ADDQ  (DI)(CX*1), R8
	ADCQ  $0, R9
	MOVQ  R8, (DI)(CX*1)
	MOVQ  R9, BX
	ADDQ  $8, CX
	JMP   tail

rowdone:
	MOVQ BX, (DI)(R12*1)
	ADDQ $16, DI
	ADDQ $8, SI
	SUBQ $8, R12
	JNZ  row
	RET
