# goinfra keep-alive: PID 1 of the containers the docker connector creates
# from an image. It depends on nothing in the image (no shell, no sleep, no
# libc) and does three things:
#   - SIGCHLD is set to SIG_IGN, so the kernel reaps orphans re-parented to
#     it (background processes the deploy left behind never become zombies);
#   - with an argument it unlinks that path and exits (errno as exit code):
#     this is how the connector removes the program before committing, since
#     the image may have no rm;
#   - otherwise it blocks SIGTERM and SIGINT and waits for one of them with
#     rt_sigtimedwait, then exits 0 (a plain PID 1 would ignore them).
	.globl _start
	.text
_start:
	mov $13, %eax		# rt_sigaction(SIGCHLD, &act, NULL, 8)
	mov $17, %edi
	lea act(%rip), %rsi
	xor %edx, %edx
	mov $8, %r10d
	syscall
	mov (%rsp), %rcx	# argc
	cmp $2, %rcx
	jb block
	mov 16(%rsp), %rdi	# unlink(argv[1])
	mov $87, %eax
	syscall
	mov %eax, %edi		# exit_group(-ret)
	neg %edi
	mov $231, %eax
	syscall
block:
	mov $14, %eax		# rt_sigprocmask(SIG_BLOCK, &set, NULL, 8)
	xor %edi, %edi
	lea set(%rip), %rsi
	xor %edx, %edx
	mov $8, %r10d
	syscall
wait:
	mov $128, %eax		# rt_sigtimedwait(&set, NULL, NULL, 8)
	lea set(%rip), %rdi
	xor %esi, %esi
	xor %edx, %edx
	mov $8, %r10d
	syscall
	test %rax, %rax
	js wait			# EINTR: wait again
	xor %edi, %edi		# exit_group(0)
	mov $231, %eax
	syscall
	.balign 8
act:	.quad 1, 0, 0, 0	# struct sigaction: SIG_IGN, no flags
set:	.quad 0x4002		# SIGINT (2) and SIGTERM (15)
